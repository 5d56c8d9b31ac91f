import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { InvalidOffsetError, PathNotFoundError } from '../../src/errors';
import { readAll, type SuiteContext, writeAndCommit, writeChunk } from '../suite-context';

const MiB = 1024 * 1024;
/** The memory a 256 MiB round trip may add to the process: far below the blob. */
const RSS_GROWTH_LIMIT = 64 * MiB;

export function streamCases(suite: SuiteContext): void {
  describe('streams', () => {
    it('writes through a writer and reads back through a reader', async () => {
      const path = suite.path('blob', 'data');
      const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(1)];
      const writer = await suite.driver.writer(path);
      expect(writer.size).toBe(0);
      for (const part of parts) await writeChunk(writer, part);
      await writer.commit();
      expect(writer.size).toBe(71_001);
      expect(await readAll(await suite.driver.reader(path))).toEqual(Buffer.concat(parts));
      expect(await suite.driver.stat(path)).toMatchObject({ size: 71_001, isDir: false });
    });

    it('commits a writer that wrote nothing as a 0-byte file', async () => {
      const path = suite.path('zero');
      const writer = await suite.driver.writer(path);
      await writer.commit();
      expect(writer.size).toBe(0);
      expect(await suite.driver.stat(path)).toMatchObject({ size: 0, isDir: false });
      expect(await readAll(await suite.driver.reader(path))).toEqual(Buffer.alloc(0));
      expect(await suite.driver.getContent(path)).toEqual(Buffer.alloc(0));
    });

    it('keeps every byte of many small writes, in order', async () => {
      const path = suite.path('small-writes');
      const parts = Array.from({ length: 2000 }, (_, index) => Buffer.from(`${index},`));
      const writer = await suite.driver.writer(path);
      await pipeline(Readable.from(parts), writer);
      await writer.commit();
      expect((await suite.driver.getContent(path)).toString()).toBe(parts.join(''));
    });

    it('reads from every offset, across the boundaries between writes', async () => {
      const path = suite.path('offsets');
      const parts = [randomBytes(5), randomBytes(7), randomBytes(11)];
      const whole = Buffer.concat(parts);
      await writeAndCommit(suite.driver, path, parts);
      for (let offset = 0; offset <= whole.length; offset++) {
        expect(await readAll(await suite.driver.reader(path, offset)), `offset ${offset}`).toEqual(whole.subarray(offset));
      }
    });

    it('reads the last byte at size-1, nothing at size, and refuses offsets past the end or negative', async () => {
      const path = suite.path('bounds');
      await suite.driver.putContent(path, Buffer.from('0123456789'));
      expect((await readAll(await suite.driver.reader(path, 9))).toString()).toBe('9');
      expect(await readAll(await suite.driver.reader(path, 10))).toEqual(Buffer.alloc(0));
      await expect(suite.driver.reader(path, 11)).rejects.toBeInstanceOf(InvalidOffsetError);
      await expect(suite.driver.reader(path, 10 * MiB)).rejects.toBeInstanceOf(InvalidOffsetError);
      await expect(suite.driver.reader(path, -1)).rejects.toBeInstanceOf(InvalidOffsetError);
      await expect(suite.driver.reader(path, 1.5)).rejects.toBeInstanceOf(InvalidOffsetError);
    });

    it('throws PathNotFoundError for a reader of a missing file or of a directory', async () => {
      await expect(suite.driver.reader(suite.path('missing'))).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.reader(suite.path('missing'), 5)).rejects.toBeInstanceOf(PathNotFoundError);
      await suite.driver.putContent(suite.path('dir', 'file'), Buffer.from('x'));
      await expect(suite.driver.reader(suite.path('dir'))).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('resumes a writer ended without commit with a second writer opened with append', async () => {
      const path = suite.path('_uploads', 'session', 'data');
      const first = randomBytes(3000);
      const second = randomBytes(5000);

      const writer = await suite.driver.writer(path);
      writer.end(first);
      await finished(writer);
      expect(writer.size).toBe(first.length);

      const resumed = await suite.driver.writer(path, { append: true });
      expect(resumed.size).toBe(first.length);
      await writeChunk(resumed, second);
      expect(resumed.size).toBe(first.length + second.length);
      await resumed.commit();

      expect(await readAll(await suite.driver.reader(path))).toEqual(Buffer.concat([first, second]));
      expect(await readAll(await suite.driver.reader(path, first.length))).toEqual(second);
      expect((await suite.driver.stat(path)).size).toBe(first.length + second.length);
    });

    it('resumes across three writers, the middle one writing nothing', async () => {
      const path = suite.path('resumed-thrice');
      const one = await suite.driver.writer(path);
      one.end(Buffer.from('one,'));
      await finished(one);
      const two = await suite.driver.writer(path, { append: true });
      two.end();
      await finished(two);
      const three = await suite.driver.writer(path, { append: true });
      expect(three.size).toBe(4);
      three.end(Buffer.from('three'));
      await three.commit();
      expect((await suite.driver.getContent(path)).toString()).toBe('one,three');
    });

    it('refuses append to a missing file with PathNotFoundError', async () => {
      await expect(suite.driver.writer(suite.path('never-written'), { append: true })).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('starts empty without append, replacing committed content', async () => {
      const path = suite.path('rewritten');
      await suite.driver.putContent(path, Buffer.from('old content, longer'));
      const writer = await suite.driver.writer(path);
      expect(writer.size).toBe(0);
      writer.end(Buffer.from('new'));
      await writer.commit();
      expect((await suite.driver.getContent(path)).toString()).toBe('new');
    });

    it('leaves nothing behind when a writer is cancelled', async () => {
      const path = suite.path('cancelled', 'data');
      const writer = await suite.driver.writer(path);
      await writeChunk(writer, randomBytes(10_000));
      await writer.cancel();
      await expect(suite.driver.stat(path)).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.getContent(path)).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.reader(path)).rejects.toBeInstanceOf(PathNotFoundError);
      await expect(suite.driver.writer(path, { append: true })).rejects.toBeInstanceOf(PathNotFoundError);
    });

    it('leaves nothing behind when a resumed writer is cancelled', async () => {
      const path = suite.path('cancelled-after-resume');
      const writer = await suite.driver.writer(path);
      writer.end(randomBytes(100));
      await finished(writer);
      const resumed = await suite.driver.writer(path, { append: true });
      await writeChunk(resumed, randomBytes(100));
      await resumed.cancel();
      await expect(suite.driver.stat(path)).rejects.toBeInstanceOf(PathNotFoundError);
    });

    largeStreamCase(suite);
  });
}

function largeStreamCase(suite: SuiteContext): void {
  const inMemory = suite.options.holdsContentInMemory ?? false;
  const size = suite.options.largeStreamBytes ?? (inMemory ? 32 * MiB : 256 * MiB);
  const title = inMemory
    ? `round-trips ${size / MiB} MiB through streams with equal sha256 (no memory bound: the driver holds bytes by nature)`
    : `round-trips ${size / MiB} MiB through streams with equal sha256, the process growing by less than ${RSS_GROWTH_LIMIT / MiB} MiB`;

  it(title, { timeout: 120_000 }, async () => {
    const path = suite.path('large', 'data');
    const memory = new RssWatch();

    const written = createHash('sha256');
    const writer = await suite.driver.writer(path);
    await pipeline(generatedBytes(size, written), writer);
    await writer.commit();
    expect(writer.size).toBe(size);
    memory.sample();

    const read = createHash('sha256');
    let readBytes = 0;
    for await (const chunk of await suite.driver.reader(path)) {
      read.update(chunk as Buffer);
      readBytes += (chunk as Buffer).length;
      memory.sample();
    }
    const growth = memory.stop();
    console.info(`[${suite.driver.name}] ${size / MiB} MiB round trip: RSS grew by ${(growth / MiB).toFixed(1)} MiB`);

    expect(readBytes).toBe(size);
    expect(read.digest('hex')).toBe(written.digest('hex'));
    expect((await suite.driver.stat(path)).size).toBe(size);
    if (!inMemory) expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
  });
}

/**
 * `size` bytes made on the fly in 64 KiB chunks (the size a socket hands over), each chunk
 * distinct so that a lost, repeated or reordered chunk changes the hash.
 */
function generatedBytes(size: number, hash: ReturnType<typeof createHash>): Readable {
  const pattern = randomBytes(64 * 1024);
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.allocUnsafe(Math.min(pattern.length, size - produced));
      pattern.copy(chunk, 0, 0, chunk.length);
      if (chunk.length >= 8) chunk.writeDoubleBE(produced, 0);
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

/** The peak resident set size above the start, sampled on a timer and on demand. */
class RssWatch {
  private readonly baseline: number;
  private peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    (globalThis as { gc?: () => void }).gc?.();
    this.baseline = process.memoryUsage.rss();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), 20);
  }

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }
}
