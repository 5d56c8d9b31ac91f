import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ChunkRange, UploadMessages, UploadPattern, UploadProgress } from '@berth/contracts';
import { ReferenceGuard } from '@berth/garbage-collection';
import { METRICS, type Metrics, noMetrics } from '@berth/metrics';
import { type Digest, OciError, parseDigest, splitDigest } from '@berth/oci';
import { closeQuietly, RegistryStorage } from '@berth/registry-storage';
import type { FileWriter } from '@berth/storage-driver';
import { BlobWriter, ChunkBodyError } from './blob-writer';
import { SessionLocks } from './session-locks';
import { type UploadState, UploadStateSigner, uploadStateSecret } from './upload-state';
import { UPLOAD_SETTINGS, type UploadSettings } from './upload-settings';

type Request<P extends keyof UploadMessages> = UploadMessages[P]['request'];
type Reply<P extends keyof UploadMessages> = UploadMessages[P]['reply'];

/** A chunk as the gateway hands it on: the bytes, and what the client said about them. */
interface Chunk {
  range?: ChunkRange;
  length?: number;
  body?: Readable;
}

/**
 * Blob upload sessions, after Distribution 2.8's `handlers/blobupload.go` and
 * `storage/blobwriter.go`, over RegistryStorage's layout: an upload is its `_uploads/<id>`
 * files in its repository until it is finished (the data moves into the blob store, the
 * repository gets a link) or cancelled. Storage is the truth: the data file's size is the
 * session's offset.
 */
@Injectable()
export class UploadSessionService {
  private readonly logger = new Logger('upload');
  private readonly signer: UploadStateSigner;
  private readonly blobs: BlobWriter;
  private readonly locks = new SessionLocks();
  private readonly deleteEnabled: boolean;

  constructor(
    private readonly storage: RegistryStorage,
    @Inject(UPLOAD_SETTINGS) settings: UploadSettings,
    private readonly guard: ReferenceGuard,
    @Optional() @Inject(METRICS) private readonly metrics: Metrics = noMetrics,
  ) {
    this.signer = new UploadStateSigner(uploadStateSecret(settings.secret, (message) => this.logger.warn(message)));
    this.blobs = new BlobWriter(storage.driver);
    this.deleteEnabled = settings.deleteEnabled;
  }

  async start({ repository, mount }: Request<typeof UploadPattern.Start>): Promise<Reply<typeof UploadPattern.Start>> {
    if (mount) {
      const mounted = await this.mount(repository, parseDigest(mount.digest), mount.from);
      if (mounted) return { kind: 'mounted', digest: mount.digest };
    }
    const id = randomUUID();
    // Second precision, as the reference's `time.RFC3339` and its purger read it.
    const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // Independent files: a session missing either is unknown, and the purger removes what is left.
    const uploads = this.storage.uploads;
    await Promise.all([uploads.writeStartedAt(repository, id, startedAt), this.blobs.create(id, uploads.dataPath(repository, id))]);
    if (this.metrics.enabled) {
      this.metrics.uploadsStarted.inc();
      this.metrics.uploadsOpen.inc();
    }
    return { kind: 'session', ...this.progress({ name: repository, uuid: id, offset: 0, startedAt }) };
  }

  async append(request: Request<typeof UploadPattern.Append>): Promise<Reply<typeof UploadPattern.Append>> {
    return this.locks.run(request.id, async () => {
      const { session, writer } = await this.resume(request.repository, request.id, request.state, request.body !== undefined);
      const offset = await this.writeChunk(session, writer, request, false);
      return this.progress({ ...session, offset });
    });
  }

  async finish(request: Request<typeof UploadPattern.Finish>): Promise<Reply<typeof UploadPattern.Finish>> {
    // Parsed before anything is written: a malformed digest lets the client retry (as the reference).
    const digest = parseDigest(request.digest);
    return this.locks.run(request.id, async () => {
      const { session, writer } = await this.resume(request.repository, request.id, request.state, true);
      // Online collection deleting this blob: refused before the last chunk is taken, so the
      // session is kept as it was and the client's retry of this PUT goes through after the run.
      try {
        await this.guard.beforeReferencing([digest]);
      } catch (error) {
        if (writer) await closeQuietly(writer);
        throw error;
      }
      const size = await this.writeChunk(session, writer, request, true);
      try {
        await this.commit(session, digest, size);
      } catch (error) {
        // The reference cancels an upload whose commit failed: nothing of it stays visible.
        await this.removeUpload(session).catch((cleanup: unknown) => this.logger.error(`cancel after a failed commit: ${String(cleanup)}`));
        throw error;
      }
      this.ended('committed');
      return { digest, size };
    });
  }

  async status({ repository, id, state }: Request<typeof UploadPattern.Status>): Promise<Reply<typeof UploadPattern.Status>> {
    return this.locks.run(id, async () => {
      const { session } = await this.resume(repository, id, state, false);
      return this.progress(session);
    });
  }

  async cancel({ repository, id, state }: Request<typeof UploadPattern.Cancel>): Promise<Reply<typeof UploadPattern.Cancel>> {
    return this.locks.run(id, async () => {
      const { session } = await this.resume(repository, id, state, false);
      await this.removeUpload(session);
      this.ended('cancelled');
      return {};
    });
  }

  private ended(outcome: 'committed' | 'cancelled'): void {
    if (!this.metrics.enabled) return;
    this.metrics.uploadsOpen.dec();
    this.metrics.uploadsEnded.labels(outcome).inc();
  }

  /** Unlinks a blob from the repository (`linkedBlobStore.Delete`); the bytes stay for garbage collection. */
  async deleteBlob({ repository, digest }: Request<typeof UploadPattern.DeleteBlob>): Promise<Reply<typeof UploadPattern.DeleteBlob>> {
    if (!this.deleteEnabled) throw new OciError('UNSUPPORTED', 'blob deletion is disabled (storage.delete.enabled)');
    if (!(await this.storage.linkedBlobs.unlink(repository, parseDigest(digest)))) throw new OciError('BLOB_UNKNOWN', digest);
    return {};
  }

  /**
   * Links an existing blob into `repository` (`linkedBlobStore.mount`). With `from`, the blob
   * must be linked there (a client may mount only what it could pull from `from`); without,
   * berth goes beyond the reference, as the spec allows: any blob in the blob store whose
   * canonical digest is given. False when there is nothing to mount: a session starts instead.
   */
  private async mount(repository: string, digest: Digest, from: string | undefined): Promise<boolean> {
    // A mount is a writer: online collection must not delete what it is about to link (or refuses it).
    await this.guard.beforeReferencing([digest]);
    let canonical: Digest | undefined;
    if (from !== undefined) {
      canonical = (await this.storage.linkedBlobs.stat(from, digest))?.digest;
    } else if (splitDigest(digest).algorithm === 'sha256' && (await this.storage.blobs.exists(digest))) {
      canonical = digest;
    }
    if (!canonical) return false;
    if (canonical !== digest) await this.guard.beforeReferencing([canonical]);
    await this.storage.linkedBlobs.link(repository, canonical, digest);
    return true;
  }

  /**
   * The signed state checked, and the session found in storage (BLOB_UPLOAD_UNKNOWN when gone).
   * With `write`, the data file is opened for appending instead of stat'ed: the writer's
   * size is the offset, and the one lookup serves both.
   */
  private async resume(repository: string, id: string, token: string, write: boolean): Promise<{ session: UploadState; writer?: FileWriter }> {
    const state = this.signer.unpack(token, repository, id);
    const stored = await this.storage.uploads.open(repository, id, write);
    if (stored === undefined) throw new OciError('BLOB_UPLOAD_UNKNOWN', `upload ${id}`);
    // The token's offset is not held against the data's size, unlike the reference (which then
    // cancels the upload): after a PATCH whose body broke midway the client's token is behind,
    // and the spec's recovery (GET the status, continue from its Range) must still work.
    // The chunk's Content-Range is what keeps chunks in order.
    const session = { ...state, startedAt: stored.startedAt, offset: stored.size };
    return stored.writer === undefined ? { session } : { session, writer: stored.writer };
  }

  /**
   * Writes the chunk, if any, after checking it continues the data; returns the data's new size.
   * `writer` is the data file opened for appending, when `resume` opened it: closed here.
   */
  private async writeChunk(session: UploadState, writer: FileWriter | undefined, chunk: Chunk, last: boolean): Promise<number> {
    const { range, length, body } = chunk;
    const refusal = chunkRefusal(session.offset, chunk);
    if (refusal) {
      if (writer) await closeQuietly(writer);
      throw refusal;
    }
    // A PATCH without a body opens no writer (see `append`).
    if (!body && !last) return session.offset;
    const data = this.storage.uploads.dataPath(session.name, session.uuid);
    let written;
    try {
      written = await this.blobs.append(session.uuid, data, session.offset, body, last, writer);
    } catch (error) {
      if (!(error instanceof ChunkBodyError)) throw error;
      // The reference answers UNKNOWN with the cause; the bytes that arrived stay, and a
      // status request tells the client where to continue.
      throw new OciError('UNKNOWN', `${error.message}; the upload continues at its current offset`);
    }
    if (this.metrics.enabled) this.metrics.pushedBytes.cell('blob').inc(written.received);
    const expected = length ?? (range ? range.end - range.start + 1 : undefined);
    if (expected !== undefined && written.received !== expected) {
      throw new OciError('SIZE_INVALID', `received ${written.received} bytes, ${expected} announced`);
    }
    return written.size;
  }

  /** `blobWriter.Commit`: verify, move into the blob store unless already there, link, clean up. */
  private async commit(session: UploadState, digest: Digest, size: number): Promise<void> {
    const data = this.storage.uploads.dataPath(session.name, session.uuid);
    const { algorithm, hex } = splitDigest(digest);
    const canonicalHex = await this.blobs.sha256(session.uuid, data, size);
    const actual = algorithm === 'sha256' ? canonicalHex : await this.blobs.digestOf(data, algorithm);
    if (actual !== hex) {
      throw new OciError('DIGEST_INVALID', `the upload's ${algorithm} is ${actual}, not ${hex}`);
    }
    const canonical = parseDigest(`sha256:${canonicalHex}`);
    // Before the move looks for the blob: an existing blob is kept, and must not be one online collection is deleting.
    await this.guard.beforeReferencing([canonical, digest]);
    await this.storage.uploads.moveToBlobStore(session.name, session.uuid, canonical);
    // The link is what makes the blob visible in the repository; the upload's files are
    // removed beside it (a failed commit removes them too, as the reference cancels it). Both
    // settle before the session's lock is released.
    const results = await Promise.allSettled([this.storage.linkedBlobs.link(session.name, canonical, digest), this.removeUpload(session)]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }

  private async removeUpload(session: UploadState): Promise<void> {
    this.blobs.forget(session.uuid);
    await this.storage.uploads.remove(session.name, session.uuid);
  }

  private progress(state: UploadState): UploadProgress {
    return { id: state.uuid, offset: state.offset, state: this.signer.pack(state) };
  }
}

/**
 * Why a chunk cannot continue data of `offset` bytes, or undefined when it can. That its
 * Content-Length agrees with its Content-Range is the gateway's check (the request alone
 * decides it); what needs the session is checked here.
 */
function chunkRefusal(offset: number, { range }: Chunk): OciError | undefined {
  if (range && range.start !== offset) {
    return new OciError('RANGE_INVALID', `the chunk starts at ${range.start}, the upload holds ${offset} bytes`);
  }
  return undefined;
}
