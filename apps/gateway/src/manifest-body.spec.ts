import { Readable } from 'node:stream';
import { MANIFEST_SIZE_LIMIT, OciError } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import { readManifestBody, REFUSED_BODY_READ_LIMIT } from './manifest-body';

/** `total` bytes in chunks of 64 KiB; `pulled` says how many the reader took. */
function body(total: number): { stream: Readable; pulled: () => number } {
  let made = 0;
  const stream = new Readable({
    read() {
      if (made >= total) return void this.push(null);
      const size = Math.min(64 * 1024, total - made);
      made += size;
      this.push(Buffer.alloc(size, 0x7b));
    },
  });
  return { stream, pulled: () => made };
}

async function failure(read: Promise<unknown>): Promise<OciError> {
  const error = await read.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof OciError) return error;
  throw new Error(`expected an OciError, got ${String(error)}`);
}

describe('readManifestBody', () => {
  it('reads a body up to the limit whole', async () => {
    const { stream } = body(MANIFEST_SIZE_LIMIT);
    const content = await readManifestBody(stream, String(MANIFEST_SIZE_LIMIT));
    expect(content.length).toBe(MANIFEST_SIZE_LIMIT);
  });

  it('reads an empty body as empty (the manifest service says what is wrong with it)', async () => {
    expect(await readManifestBody(Readable.from([]), undefined)).toEqual(Buffer.alloc(0));
  });

  it('refuses one byte over the limit with 413 SIZE_INVALID, having read it to the end', async () => {
    const { stream, pulled } = body(MANIFEST_SIZE_LIMIT + 1);
    const error = await failure(readManifestBody(stream, undefined));
    expect([error.code, error.status]).toEqual(['SIZE_INVALID', 413]);
    // Read to the end, so the client is not cut off while it still sends.
    expect(pulled()).toBe(MANIFEST_SIZE_LIMIT + 1);
  });

  it('refuses a body declared larger than it reads at once, without reading it', async () => {
    const { stream, pulled } = body(REFUSED_BODY_READ_LIMIT + 1);
    const error = await failure(readManifestBody(stream, String(REFUSED_BODY_READ_LIMIT + 1)));
    expect([error.code, error.status]).toEqual(['SIZE_INVALID', 413]);
    expect(pulled()).toBe(0);
  });

  it('stops reading an undeclared body once it passes what it reads of a refused one', async () => {
    const { stream, pulled } = body(10 * REFUSED_BODY_READ_LIMIT);
    const error = await failure(readManifestBody(stream, undefined));
    expect([error.code, error.status]).toEqual(['SIZE_INVALID', 413]);
    expect(pulled()).toBeLessThan(REFUSED_BODY_READ_LIMIT + 2 * 64 * 1024 + 16 * 1024 + 1);
  });
});
