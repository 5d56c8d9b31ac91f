import { Inject, Injectable } from '@nestjs/common';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { UPLOAD_CLIENT, type MessageClient, UploadPattern, type UploadMessages } from '@berth/contracts';
import { OciError, parseDigest } from '@berth/oci';
import { RegistryStorage } from '@berth/registry-storage';
import { recycleChunk } from '@berth/storage-driver';
import { type HttpRequest, type HttpResponse, sendEmpty } from './http-answers';
import { parseRangeHeader } from './http-ranges';

/**
 * Blob reads are the gateway's own (DESIGN.md): straight from the driver to the socket,
 * or a redirect to the backend where the driver can sign one.
 */
@Injectable()
export class BlobHandler {
  private readonly redirects: boolean;

  constructor(
    private readonly storage: RegistryStorage,
    @Inject(UPLOAD_CLIENT) private readonly uploads: MessageClient<UploadMessages>,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    this.redirects = !config.storage.redirect.disable;
  }

  async get(req: HttpRequest, res: HttpResponse, repository: string, reference: string): Promise<void> {
    const digest = parseDigest(reference);
    // The link holds the canonical digest the bytes are stored under, also for a sha512 link.
    const blob = await this.storage.linkedBlobs.stat(repository, digest);
    if (blob === undefined) throw new OciError('BLOB_UNKNOWN', { digest });
    const { size } = blob;
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    res.setHeader('Cache-Control', 'max-age=31536000');
    res.setHeader('Accept-Ranges', 'bytes');

    if (this.redirects) {
      const url = await blob.redirectUrl(req.method === 'HEAD' ? 'HEAD' : 'GET');
      if (url !== undefined) {
        res.setHeader('Location', url);
        sendEmpty(res, 307);
        return;
      }
    }
    if (req.headers['if-none-match'] === `"${digest}"`) {
      res.statusCode = 304;
      res.end();
      return;
    }
    const range = parseRangeHeader(req.headers.range, size);
    res.setHeader('Content-Type', 'application/octet-stream');
    if (range) {
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    }
    const length = range ? range.end - range.start + 1 : size;
    res.setHeader('Content-Length', length);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const body = await blob.reader(range?.start ?? 0);
    if (body === undefined) {
      // Removed since the stat (a garbage collector at work): a 404, not a 200 without its body.
      for (const name of BLOB_HEADERS) res.removeHeader(name);
      throw new OciError('BLOB_UNKNOWN', { digest });
    }
    try {
      await send(range && range.end < size - 1 ? limit(body, length) : body, body, res);
    } catch (error) {
      // A client that hangs up mid-download is no fault of ours; anything else is.
      if (!(res.destroyed && (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')) throw error;
    }
  }

  async delete(res: HttpResponse, repository: string, reference: string): Promise<void> {
    const digest = parseDigest(reference);
    await this.uploads.send(UploadPattern.DeleteBlob, { repository, digest });
    sendEmpty(res, 202);
  }
}

/** What {@link BlobHandler.get} says of a blob before its body: withdrawn when the body is gone. */
const BLOB_HEADERS = ['Docker-Content-Digest', 'ETag', 'Cache-Control', 'Accept-Ranges', 'Content-Type', 'Content-Range', 'Content-Length'];

/** The first `length` bytes of `source`, then the end (for a range that stops before the blob does). */
async function* limit(source: AsyncIterable<Buffer>, length: number): AsyncGenerator<Buffer> {
  let left = length;
  for await (const chunk of source) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      return;
    }
    left -= chunk.length;
    yield chunk;
  }
}

/**
 * Writes `chunks` (read from `reader`) to `res` with backpressure, and hands each chunk back
 * to the reader once the socket has taken it (`recycleChunk`): a pull then reuses a few
 * buffers instead of leaving one per chunk to the garbage collector. As with `pipeline`, a
 * failure on either side destroys both.
 */
async function send(chunks: AsyncIterable<Buffer>, reader: Readable, res: HttpResponse): Promise<void> {
  const closed = finished(res);
  // Awaited at the end; when something fails first, its own error is the one that counts.
  closed.catch(() => undefined);
  try {
    for await (const chunk of chunks) {
      const more = res.write(chunk, (error) => {
        if (!error) recycleChunk(reader, chunk);
      });
      if (!more) await Promise.race([once(res, 'drain'), closed]);
    }
    res.end();
    await closed;
  } catch (error) {
    reader.destroy();
    res.destroy();
    throw error;
  }
}
