import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createStorageDriver, type StorageDriver, StorageDriverError } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { BlobWriter, ChunkBodyError } from './blob-writer';

const DATA = '/docker/registry/v2/repositories/r/_uploads/u1/data';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A body that yields `good` and then fails, as a request whose client went away. */
function brokenBody(good: Buffer): Readable {
  return new Readable({
    read() {
      if (this.readableLength === 0 && !(this as { sent?: boolean }).sent) {
        (this as { sent?: boolean }).sent = true;
        this.push(good);
        setImmediate(() => this.destroy(new Error('aborted')));
      }
    },
  });
}

describe('BlobWriter', () => {
  it('appends chunks and hashes them as they pass', async () => {
    const driver = createStorageDriver('inmemory', {});
    const writer = new BlobWriter(driver);
    await writer.create('u1', DATA);
    const first = await writer.append('u1', DATA, 0, Readable.from([Buffer.from('hello ')]));
    const second = await writer.append('u1', DATA, first.size, Readable.from([Buffer.from('world')]), true);
    expect(first).toEqual({ size: 6, received: 6 });
    expect(second).toEqual({ size: 11, received: 5 });
    expect(await driver.getContent(DATA)).toEqual(Buffer.from('hello world'));
    expect(await writer.sha256('u1', DATA, 11)).toBe(sha256(Buffer.from('hello world')));
  });

  it('rebuilds a lost running hash from the data in storage', async () => {
    const driver = createStorageDriver('inmemory', {});
    await new BlobWriter(driver).create('u1', DATA);
    await new BlobWriter(driver).append('u1', DATA, 0, Readable.from([Buffer.from('abc')]));
    const fresh = new BlobWriter(driver);
    await fresh.append('u1', DATA, 3, Readable.from([Buffer.from('def')]));
    expect(await fresh.sha256('u1', DATA, 6)).toBe(sha256(Buffer.from('abcdef')));
  });

  it('reads back only the gap when its cached hash is behind the data', async () => {
    const driver = createStorageDriver('inmemory', {});
    const mine = new BlobWriter(driver);
    await mine.create('u1', DATA);
    await mine.append('u1', DATA, 0, Readable.from([Buffer.from('abc')]));
    // Another instance takes the next chunk.
    await new BlobWriter(driver).append('u1', DATA, 3, Readable.from([Buffer.from('def')]));
    await mine.append('u1', DATA, 6, Readable.from([Buffer.from('ghi')]));
    expect(await mine.sha256('u1', DATA, 9)).toBe(sha256(Buffer.from('abcdefghi')));
  });

  it('a read-back cut by the backend fails as a backend failure (503), the data untouched', async () => {
    const driver = createStorageDriver('inmemory', {});
    await new BlobWriter(driver).create('u1', DATA);
    await new BlobWriter(driver).append('u1', DATA, 0, Readable.from([Buffer.from('abc')]));
    // The data's body cut mid-read, as a Swift proxy stopped while it was sent.
    const cut: StorageDriver = Object.assign(Object.create(driver) as StorageDriver, { reader: async () => brokenBody(Buffer.from('a')) });
    const failure = await new BlobWriter(cut).append('u1', DATA, 3, Readable.from([Buffer.from('def')])).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageDriverError);
    expect(await driver.getContent(DATA)).toEqual(Buffer.from('abc'));
  });

  it('keeps what arrived of a broken body and recomputes the hash afterwards', async () => {
    const driver = createStorageDriver('inmemory', {});
    const writer = new BlobWriter(driver);
    await writer.create('u1', DATA);
    const failure = await writer.append('u1', DATA, 0, brokenBody(Buffer.from('abcd'))).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ChunkBodyError);
    expect((failure as ChunkBodyError).received).toBe(4);
    const size = (await driver.stat(DATA)).size;
    expect(size).toBe(4);
    await writer.append('u1', DATA, size, Readable.from([Buffer.from('ef')]));
    expect(await writer.sha256('u1', DATA, 6)).toBe(sha256(Buffer.from('abcdef')));
  });

  it('digests the data with another algorithm by reading it back', async () => {
    const driver = createStorageDriver('inmemory', {});
    const writer = new BlobWriter(driver);
    await writer.create('u1', DATA);
    await writer.append('u1', DATA, 0, Readable.from([Buffer.from('xyz')]));
    expect(await writer.digestOf(DATA, 'sha512')).toBe(createHash('sha512').update('xyz').digest('hex'));
  });

  it('hashes an empty upload as the empty string', async () => {
    const driver = createStorageDriver('inmemory', {});
    const writer = new BlobWriter(driver);
    await writer.create('u1', DATA);
    const done = await writer.append('u1', DATA, 0, undefined, true);
    expect(done).toEqual({ size: 0, received: 0 });
    expect(await new BlobWriter(driver).sha256('u1', DATA, 0)).toBe(sha256(Buffer.alloc(0)));
  });

  it('keeps at most maxRunning hashes, dropping the least recently used (abandoned uploads)', async () => {
    const driver = createStorageDriver('inmemory', {});
    let reads = 0;
    const counting = Object.assign(Object.create(driver) as typeof driver, {
      reader: (path: string, offset?: number) => {
        reads += 1;
        return driver.reader(path, offset);
      },
    });
    const writer = new BlobWriter(counting, 2);
    const data = (id: string) => DATA.replace('u1', id);
    for (const id of ['a', 'b', 'c']) {
      await writer.create(id, data(id));
      await writer.append(id, data(id), 0, Readable.from([Buffer.from(id)]));
    }
    expect(reads).toBe(0);
    expect(await writer.sha256('c', data('c'), 1)).toBe(sha256(Buffer.from('c')));
    expect(reads).toBe(0);
    // 'a' was the least recently used of three: its hash is rebuilt from storage.
    expect(await writer.sha256('a', data('a'), 1)).toBe(sha256(Buffer.from('a')));
    expect(reads).toBe(1);
  });
});
