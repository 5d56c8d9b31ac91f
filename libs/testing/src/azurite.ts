import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { repoRoot } from './berth-process';
import { freePort } from './free-port';
import { ServerProcess } from './server-process';

/** Azurite's well-known development account (its documentation's, not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Microsoft's Azure Storage emulator (the `azurite` dev dependency, its Blob service only),
 * started per test file on a free port with its data under `.state/azurite-<port>`, removed
 * on stop.
 */
export class PrivateAzurite {
  private constructor(
    private readonly server: ServerProcess,
    readonly port: number,
    private readonly location: string,
  ) {}

  static async start(): Promise<PrivateAzurite> {
    const port = await freePort();
    const location = join(repoRoot, '.state', `azurite-${port}`);
    await mkdir(location, { recursive: true });
    const server = await ServerProcess.start({
      label: 'azurite',
      command: join(repoRoot, 'node_modules', '.bin', 'azurite-blob'),
      // --skipApiVersionCheck: the SDK may speak a newer service version than the emulator knows.
      args: ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--skipApiVersionCheck', '--silent'],
      readyUrl: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}?comp=list`,
      missingHint: 'azurite is a dev dependency of the repository: run pnpm install',
    });
    return new PrivateAzurite(server, port, location);
  }

  get serviceUrl(): string {
    return `http://127.0.0.1:${this.port}/${AZURITE_ACCOUNT}`;
  }

  /** The azure driver's parameters (`storage.azure`) for `container` on this emulator. */
  driverParams(container: string): Record<string, unknown> {
    return { accountname: AZURITE_ACCOUNT, accountkey: AZURITE_KEY, container, serviceurl: this.serviceUrl };
  }

  /** A client of `container`, for looking behind the driver's back. */
  container(container: string): ContainerClient {
    return new BlobServiceClient(this.serviceUrl, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)).getContainerClient(container);
  }

  /**
   * Every blob under `prefix`, those holding staged (uncommitted) blocks only included, with
   * the number of staged blocks each has: what an upload may leave behind.
   */
  async blobsUnder(container: string, prefix: string): Promise<Array<{ name: string; staged: number }>> {
    const client = this.container(container);
    const found: Array<{ name: string; staged: number }> = [];
    for await (const item of client.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) {
      const staged = await client
        .getBlockBlobClient(item.name)
        .getBlockList('uncommitted')
        .then(
          (list) => list.uncommittedBlocks?.length ?? 0,
          () => 0,
        );
      found.push({ name: item.name, staged });
    }
    return found;
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await rm(this.location, { recursive: true, force: true });
  }
}
