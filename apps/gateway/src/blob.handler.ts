import { Inject, Injectable } from '@nestjs/common';
import { pipeline } from 'node:stream/promises';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { UPLOAD_CLIENT, type MessageClient, UploadPattern, type UploadMessages } from '@berth/contracts';
import { OciError, parseDigest, pathFor } from '@berth/oci';
import { PathNotFoundError, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import type { Request, Response } from 'express';
import { parseRangeHeader } from './http-ranges';

/**
 * Blob reads are the gateway's own (DESIGN.md): straight from the driver to the socket,
 * or a redirect to the backend where the driver can sign one.
 */
@Injectable()
export class BlobHandler {
  private readonly redirects: boolean;

  constructor(
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
    @Inject(UPLOAD_CLIENT) private readonly uploads: MessageClient<UploadMessages>,
    @Inject(BERTH_CONFIG) config: BerthConfig,
  ) {
    this.redirects = !config.storage.redirect.disable;
  }

  async get(req: Request, res: Response, repository: string, reference: string): Promise<void> {
    const digest = parseDigest(reference);
    const { size, dataPath } = await this.statLinkedBlob(repository, digest);
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    res.setHeader('Cache-Control', 'max-age=31536000');
    res.setHeader('Accept-Ranges', 'bytes');

    if (this.redirects) {
      const url = await this.driver.redirectUrl(dataPath, req.method === 'HEAD' ? 'HEAD' : 'GET');
      if (url !== undefined) {
        res.redirect(307, url);
        return;
      }
    }
    if (req.headers['if-none-match'] === `"${digest}"`) {
      res.status(304).end();
      return;
    }
    const range = parseRangeHeader(req.headers.range, size);
    res.setHeader('Content-Type', 'application/octet-stream');
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    }
    const length = range ? range.end - range.start + 1 : size;
    res.setHeader('Content-Length', length);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const body = await this.driver.reader(dataPath, range?.start ?? 0);
    try {
      await pipeline(range && range.end < size - 1 ? limit(body, length) : body, res);
    } catch (error) {
      // A client that hangs up mid-download is no fault of ours; anything else is.
      if (!(res.destroyed && (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')) throw error;
    }
  }

  async delete(res: Response, repository: string, reference: string): Promise<void> {
    const digest = parseDigest(reference);
    await this.uploads.send(UploadPattern.DeleteBlob, { repository, digest });
    res.status(202).setHeader('Content-Length', 0).end();
  }

  /**
   * The blob's size, when `repository` links it; else BLOB_UNKNOWN. The link holds the
   * canonical (sha256) digest under which the bytes are stored, also for a sha512 link.
   */
  private async statLinkedBlob(repository: string, digest: string): Promise<{ size: number; dataPath: string }> {
    try {
      const canonical = parseDigest((await this.driver.getContent(pathFor({ kind: 'layerLink', repository, digest }))).toString());
      const dataPath = pathFor({ kind: 'blobData', digest: canonical });
      return { size: (await this.driver.stat(dataPath)).size, dataPath };
    } catch (error) {
      if (error instanceof PathNotFoundError) throw new OciError('BLOB_UNKNOWN', { digest });
      throw error;
    }
  }
}

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
