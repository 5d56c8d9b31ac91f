import { createHash, randomBytes } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY, PrivateAzurite } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageDriver } from '../../factory';
import type { StorageDriver } from '../../storage-driver';
import { BLOCK_SIZE, blockId } from './azure.writer';

/** What the suite cannot see: staged blocks, listed behind the driver's back through the SDK. */
describe('azure driver on azurite: staged blocks and redirects', () => {
  let azurite: PrivateAzurite;
  let driver: StorageDriver;
  const container = 'berth-blocks';
  const blobs = () => new BlobServiceClient(azurite.serviceUrl, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)).getContainerClient(container);

  /** Every blob name, those holding staged blocks only included, with its uncommitted block count. */
  async function everything(): Promise<Array<{ name: string; uncommitted: number }>> {
    const found: Array<{ name: string; uncommitted: number }> = [];
    for await (const item of blobs().listBlobsFlat({ includeUncommitedBlobs: true })) {
      const list = await blobs().getBlockBlobClient(item.name).getBlockList('uncommitted').catch(() => ({ uncommittedBlocks: [] }));
      found.push({ name: item.name, uncommitted: list.uncommittedBlocks?.length ?? 0 });
    }
    return found;
  }

  function write(writer: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => writer.write(chunk, (error?: Error | null) => (error ? reject(error) : resolve())));
  }

  beforeAll(async () => {
    azurite = await PrivateAzurite.start();
    driver = createStorageDriver('azure', { ...azurite.driverParams(container), rootdirectory: 'root' });
    await driver.ready?.();
  });

  afterAll(() => azurite?.stop());

  it('commits the block list at each end, so a file in progress reads back and continues', async () => {
    const first = randomBytes(BLOCK_SIZE + 10);
    const writer = await driver.writer('/_uploads/a/data');
    writer.end(first);
    await new Promise((resolve) => writer.on('finish', resolve));
    expect((await driver.getContent('/_uploads/a/data')).equals(first)).toBe(true);
    const committed = await blobs().getBlockBlobClient('root/_uploads/a/data').getBlockList('committed');
    expect(committed.committedBlocks?.map((block) => [block.name, block.size])).toEqual([
      [blockId(0), BLOCK_SIZE],
      [blockId(1), 10],
    ]);
    await driver.delete('/_uploads');
  });

  it('leaves no blob and no staged block when a writer with staged blocks is cancelled', async () => {
    const writer = await driver.writer('/_uploads/b/data');
    // Three full blocks: the third waits for a staging slot, so at least one block is staged.
    await write(writer, randomBytes(3 * BLOCK_SIZE + 1));
    // Blocks were staged and no list was committed yet.
    expect((await blobs().getBlockBlobClient('root/_uploads/b/data').getBlockList('uncommitted')).uncommittedBlocks?.length).toBeGreaterThan(0);
    await writer.cancel();
    expect(await everything()).toEqual([]);
  });

  it('discards the staged blocks of an abandoned writer when its directory is deleted (upload purging)', async () => {
    await driver.putContent('/_uploads/c/startedat', Buffer.from('2026-01-01T00:00:00Z'));
    const writer = await driver.writer('/_uploads/c/data');
    await write(writer, randomBytes(3 * BLOCK_SIZE + 1));
    // The process dies here: nothing ends or cancels the writer. Its three full blocks land.
    await expect.poll(async () => (await everything()).find((blob) => blob.name === 'root/_uploads/c/data')?.uncommitted).toBe(3);
    await driver.delete('/_uploads/c');
    expect(await everything()).toEqual([]);
    writer.destroy();
  });

  it('purges a blob that holds staged blocks only, and nothing else', async () => {
    await driver.putContent('/kept', Buffer.from('kept'));
    await blobs().getBlockBlobClient('root/blobs/dead/data').stageBlock(blockId(0), Buffer.from('x'), 1);
    expect(await driver.purgeOrphans!(new Date(Date.now() - 3_600_000), { dryRun: false })).toEqual([]);
    expect(await driver.purgeOrphans!(new Date(Date.now() + 60_000), { dryRun: true })).toEqual(['root/blobs/dead/data']);
    expect(await driver.purgeOrphans!(new Date(Date.now() + 60_000), { dryRun: false })).toEqual(['root/blobs/dead/data']);
    expect(await everything()).toEqual([{ name: 'root/kept', uncommitted: 0 }]);
    await driver.delete('/kept');
  });

  it('redirects to a SAS URL that serves the bytes, and to nothing else', async () => {
    const content = randomBytes(100_000);
    await driver.putContent('/blobs/redirected', content);
    const url = (await driver.redirectUrl('/blobs/redirected', 'GET'))!;
    expect(url).toMatch(/[?&]sig=/);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    // The signature covers the blob: the same query on another blob is refused.
    const other = url.replace('/blobs/redirected?', '/kept?');
    expect((await fetch(other)).status).toBe(403);
    await driver.delete('/blobs');
  });
});
