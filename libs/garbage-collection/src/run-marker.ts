import { PathNotFoundError, type StorageDriver } from '@berth/storage-driver';

/**
 * Where an online collection run says, in storage, that it is under way: outside the
 * registry's layout (the reference never reads it), beside the health probe's `berth/`.
 */
export const RUN_MARKER_PATH = '/berth/gc/run';

/**
 * How long a marker stands after its last write (the run rewrites it every quarter of this).
 * With the skew allowance, it is how long a collector killed mid-sweep holds up the next run
 * (and, only if Redis lost its records too, writers): about the lease's own 30 s.
 */
export const RUN_MARKER_VALID_MS = 20_000;

/**
 * What one process's clock may be off from storage's (the marker is dated by storage, read
 * against the reader's clock): a marker counts as live this much longer.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 10_000;

interface MarkerContent {
  runId: string;
  validForMs: number;
}

/**
 * The storage side of the collection fence: while a run may delete, `berth/gc/run` holds its id
 * and was written within {@link RUN_MARKER_VALID_MS}. Storage holds the truth when Redis lost
 * it: a writer that finds the fence's records gone reads the marker, and refuses while it is
 * live; a new run does not begin while another's marker is live.
 */
export class RunMarker {
  constructor(private readonly driver: StorageDriver) {}

  /** Writes (or rewrites) the marker; returns storage's date of the write: storage's "now". */
  async write(runId: string): Promise<Date> {
    const content: MarkerContent = { runId, validForMs: RUN_MARKER_VALID_MS };
    await this.driver.putContent(RUN_MARKER_PATH, Buffer.from(JSON.stringify(content)));
    return (await this.driver.stat(RUN_MARKER_PATH)).modTime;
  }

  /** The run whose marker is live, by the local clock with the skew allowance; `undefined` when none is. */
  async liveRun(now = Date.now()): Promise<string | undefined> {
    let written: Date;
    let content: Buffer;
    try {
      [written, content] = await Promise.all([this.driver.stat(RUN_MARKER_PATH).then((info) => info.modTime), this.driver.getContent(RUN_MARKER_PATH)]);
    } catch (error) {
      if (error instanceof PathNotFoundError) return undefined;
      throw error;
    }
    let marker: MarkerContent;
    try {
      marker = JSON.parse(content.toString('utf8')) as MarkerContent;
    } catch {
      // Half written or foreign: taken as live until it ages out, never as "no run".
      marker = { runId: 'unreadable', validForMs: RUN_MARKER_VALID_MS };
    }
    const validFor = typeof marker.validForMs === 'number' ? marker.validForMs : RUN_MARKER_VALID_MS;
    return written.getTime() + validFor + CLOCK_SKEW_ALLOWANCE_MS > now ? String(marker.runId) : undefined;
  }

  /** Removes the marker if it is still `runId`'s. */
  async remove(runId: string): Promise<void> {
    try {
      const content = JSON.parse((await this.driver.getContent(RUN_MARKER_PATH)).toString('utf8')) as MarkerContent;
      if (content.runId !== runId) return;
      await this.driver.delete(RUN_MARKER_PATH);
    } catch (error) {
      if (error instanceof PathNotFoundError || error instanceof SyntaxError) return;
      throw error;
    }
  }
}
