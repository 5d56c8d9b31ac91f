import type { BlockBlobClient } from '@azure/storage-blob';
import { UploadingWriter } from '../../uploading-writer';
import { isAzureNotFound } from './azure.errors';

/** Bytes per staged block: the reference's append size; a 256 MiB blob is 64 blocks of the 50,000 a blob may have. */
export const BLOCK_SIZE = 4 * 1024 * 1024;
/** Blocks staged at once: throughput over one connection's latency, memory bounded at this many blocks. */
const STAGING_CONCURRENCY = 3;

export interface Block {
  id: string;
  size: number;
}

/**
 * Block ids are the block's position in the file, so a writer that continues a file knows the
 * next id from the committed list, and a retried stage replaces the same block. Every id of a
 * blob must have the same length: ten digits.
 */
export function blockId(index: number): string {
  return Buffer.from(`berth-${String(index).padStart(10, '0')}`).toString('base64');
}

/** The position a block id names, or -1 for an id this writer did not make. */
export function blockIndex(id: string): number {
  const match = /^berth-(\d{10})$/.exec(Buffer.from(id, 'base64').toString('latin1'));
  return match === null ? -1 : Number(match[1]);
}

/**
 * Streams a file into a block blob: bytes are gathered into blocks of `BLOCK_SIZE`, each
 * staged (Put Block) as soon as it is full, a few at once; ending the stream stages the rest
 * and commits the list of every block, earlier writers' first (Put Block List). The state of
 * a file in progress is thus the committed block list in storage: any instance can read the
 * bytes so far and continue them. A writer that dies leaves staged blocks that the next
 * commit of the blob, or its deletion, discards.
 */
export class AzureWriter extends UploadingWriter {
  private readonly blocks: Block[];
  private written: number;
  /** The block being filled (allocated when its first byte comes) and its bytes so far. */
  private current: Buffer | undefined;
  private currentBytes = 0;
  /**
   * Blocks whose staging has ended, filled again: a 256 MiB file takes four buffers, not 64 left
   * to the collector, which let the process grow by V8's external-memory allowance (~64 MiB) first.
   */
  private readonly spare: Buffer[] = [];
  private readonly staging = new Set<Promise<void>>();
  private failed: Error | undefined;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly context: { path: string; retry: <T>(call: () => Promise<T>) => Promise<T> },
    inherited: Block[],
  ) {
    super(context.path, 'azure');
    this.blocks = [...inherited];
    this.written = inherited.reduce((sum, block) => sum + block.size, 0);
  }

  get size(): number {
    return this.written;
  }

  protected override async settle(): Promise<void> {
    // No stage may still run when cancel deletes the blob; blocks staged but never listed
    // are discarded by the next commit or deletion of the blob.
    await Promise.allSettled([...this.staging]);
  }

  protected async discard(): Promise<void> {
    await discardBlob(this.blob, this.context.retry);
  }

  protected async append(chunk: Buffer): Promise<void> {
    // Copied into the block: the caller may reuse its buffer once the write is acknowledged.
    let rest = chunk;
    while (rest.length > 0) {
      this.current ??= this.spare.pop() ?? Buffer.allocUnsafe(BLOCK_SIZE);
      const copied = rest.copy(this.current, this.currentBytes);
      this.currentBytes += copied;
      this.written += copied;
      rest = rest.subarray(copied);
      if (this.currentBytes === BLOCK_SIZE) await this.stageCurrent();
    }
  }

  private async stageCurrent(): Promise<void> {
    const buffer = this.current;
    const length = this.currentBytes;
    this.current = undefined;
    this.currentBytes = 0;
    if (buffer !== undefined && length > 0) await this.stage(buffer, length);
  }

  /** Starts staging the first `length` bytes of `buffer` as a block; waits while as many as allowed are in flight. */
  private async stage(buffer: Buffer, length: number): Promise<void> {
    this.throwIfFailed();
    this.throwIfDestroyed();
    const bytes = buffer.subarray(0, length);
    const block = { id: blockId(this.blocks.length), size: bytes.length };
    this.blocks.push(block);
    const staged = this.context
      .retry(() => this.blob.stageBlock(block.id, bytes, bytes.length))
      .then(
        () => undefined,
        (error: unknown) => {
          this.failed ??= this.failure(error);
        },
      )
      .finally(() => {
        this.staging.delete(staged);
        // Its retries are over: nothing reads the buffer any more.
        this.spare.push(buffer);
      });
    this.staging.add(staged);
    while (this.staging.size >= STAGING_CONCURRENCY) await Promise.race(this.staging);
    this.throwIfFailed();
  }

  /** A stage that failed fails the writer at its next write or end. */
  private throwIfFailed(): void {
    if (this.failed !== undefined) throw this.failed;
  }

  protected async finish(): Promise<void> {
    await this.stageCurrent();
    await Promise.all([...this.staging]);
    this.throwIfFailed();
    this.throwIfDestroyed();
    // Committing the same list twice gives the same blob: safe to retry.
    const ids = this.blocks.map((block) => block.id);
    await this.context.retry(() => this.blob.commitBlockList(ids));
  }
}

/**
 * Removes a blob with whatever it holds. A blob with staged blocks only may not be deletable
 * as such: committing an empty block list turns it into an empty blob, which then is.
 */
export async function discardBlob(blob: BlockBlobClient, call: <T>(call: () => Promise<T>) => Promise<T>): Promise<void> {
  const deleted = await call(() => blob.deleteIfExists({ deleteSnapshots: 'include' }));
  if (deleted.succeeded) return;
  const staged = await call(async () => {
    try {
      return (await blob.getBlockList('uncommitted')).uncommittedBlocks ?? [];
    } catch (error) {
      if (isAzureNotFound(error)) return [];
      throw error;
    }
  });
  if (staged.length === 0) return;
  await call(() => blob.commitBlockList([]));
  await call(() => blob.deleteIfExists({ deleteSnapshots: 'include' }));
}
