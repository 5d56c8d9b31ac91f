import type { Readable } from 'node:stream';

/**
 * A reader stream whose chunk buffers its consumer may hand back, to be filled again
 * instead of allocating new ones. Every fresh buffer counts as V8 external memory, and each
 * few dozen MiB of it starts a full mark-compact of the heap: measured here, serving a
 * 64 MiB blob from fresh 512 KiB buffers cost a dozen major GCs, two thirds of the process's
 * CPU time. A stream that recycles serves it from three buffers.
 */
export interface RecyclingReadable extends Readable {
  /**
   * Hands back `chunk` (or a slice of it), one this stream emitted, once nothing reads it
   * any more: written to a socket, hashed. A chunk it did not lend, or one handed back
   * twice, is ignored.
   */
  recycle(chunk: Buffer): void;
}

/**
 * Hands `chunk` back to `stream` when it recycles its buffers (a filesystem reader does);
 * otherwise the chunk is left to the garbage collector, as always. Call it only when nothing
 * holds the chunk any more: its bytes will be overwritten.
 */
export function recycleChunk(stream: Readable, chunk: Buffer): void {
  const recycling = stream as Partial<RecyclingReadable>;
  if (typeof recycling.recycle === 'function') recycling.recycle(chunk);
}
