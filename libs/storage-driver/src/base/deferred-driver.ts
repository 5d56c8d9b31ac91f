import type { Readable } from 'node:stream';
import type { FileInfo, FileWriter, StorageDriver } from '../storage-driver';

/**
 * A driver whose module is loaded on its first call. The HTTP clients and SDKs behind Swift,
 * S3, Azure, GCS and OSS took about half a second to load on the 2-core test machine, which
 * every `berth` command paid (a `garbage-collect` over the filesystem included) for drivers it
 * would never call. Parameters
 * are validated before this is built (`parseDriverParams`), so a wrong key still stops the
 * factory at once; what the driver's constructor itself refuses shows at `ready()`, which
 * every start calls.
 */
export class DeferredDriver implements StorageDriver {
  private loaded?: Promise<StorageDriver>;
  /** Present exactly when the loaded driver has it: `BaseDriver` and its callers test for it. */
  readonly purgeOrphans?: StorageDriver['purgeOrphans'];

  constructor(
    readonly name: string,
    private readonly load: () => Promise<StorageDriver>,
    capabilities: { purgesOrphans: boolean },
  ) {
    if (capabilities.purgesOrphans) {
      this.purgeOrphans = async (olderThan, options) => {
        const driver = await this.driver();
        if (driver.purgeOrphans === undefined) throw new Error(`the ${this.name} driver was declared to purge orphans but has no purgeOrphans`);
        return driver.purgeOrphans(olderThan, options);
      };
    }
  }

  async ready(): Promise<void> {
    await (await this.driver()).ready?.();
  }

  async getContent(path: string): Promise<Buffer> {
    return (await this.driver()).getContent(path);
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    return (await this.driver()).putContent(path, content);
  }

  async reader(path: string, offset?: number): Promise<Readable> {
    return (await this.driver()).reader(path, offset);
  }

  async writer(path: string, options?: { append?: boolean }): Promise<FileWriter> {
    return (await this.driver()).writer(path, options);
  }

  async stat(path: string): Promise<FileInfo> {
    return (await this.driver()).stat(path);
  }

  async list(path: string): Promise<string[]> {
    return (await this.driver()).list(path);
  }

  async move(source: string, dest: string): Promise<void> {
    return (await this.driver()).move(source, dest);
  }

  async delete(path: string): Promise<void> {
    return (await this.driver()).delete(path);
  }

  async redirectUrl(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return (await this.driver()).redirectUrl(path, method);
  }

  async *walk(path: string): AsyncGenerator<FileInfo> {
    yield* (await this.driver()).walk(path);
  }

  /** Loaded once; a load that failed (a constructor's refusal) fails every call alike. */
  private driver(): Promise<StorageDriver> {
    this.loaded ??= this.load();
    return this.loaded;
  }
}
