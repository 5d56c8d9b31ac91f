import { MANIFEST_SIZE_LIMIT, manifestTooLarge } from '@berth/oci';
import type { Readable } from 'node:stream';

/**
 * Bodies refused for their size are still read to the end up to this many bytes: a client
 * still sending when the 413 arrives may see a broken pipe instead of the answer. A body
 * declared larger is refused at once, unread.
 */
export const REFUSED_BODY_READ_LIMIT = 4 * MANIFEST_SIZE_LIMIT;

/** The body, up to the size limit; a larger one is refused (413), nothing of it kept. */
export async function readManifestBody(body: Readable, declaredLength: string | undefined): Promise<Buffer> {
  if (Number(declaredLength ?? 0) > REFUSED_BODY_READ_LIMIT) throw manifestTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > REFUSED_BODY_READ_LIMIT) throw manifestTooLarge();
    if (size <= MANIFEST_SIZE_LIMIT) chunks.push(chunk);
  }
  if (size > MANIFEST_SIZE_LIMIT) throw manifestTooLarge();
  return Buffer.concat(chunks);
}
