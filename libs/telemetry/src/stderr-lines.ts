/**
 * How long lines that follow a write wait to be written together with the ones after them.
 * Short enough that what a waiting line holds (its request's values) dies young: at 100 ms,
 * under sixteen clients it outlived two scavenges and was promoted, and 28 s of manifest GETs
 * took 19-20 mark-compacts against 1 with the log off (test/bench/README.md, stop 21).
 */
const BATCH_MS = 10;

/** What stderr may hold unwritten before lines are dropped: its reader has stalled, not slowed. */
export const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024;

/**
 * A line of log, or what formats it when its batch goes out: a line formatted with the others
 * of its batch costs less than one formatted after each request. It must not throw.
 */
export type LogLine = string | (() => string);

/**
 * Lines to stderr, written from the event loop without ever waiting on it. On a pipe (a
 * container's log, the usual case) Node's stream writes at once when the pipe has room and
 * queues the rest in libuv until it has: no thread pool, no blocking. A file or a terminal is
 * written synchronously, as Node does for them.
 *
 * A line after a quiet spell is written at once; the lines of the next 10 ms go out together,
 * one write for dozens of requests (issue 18: an access line per request within 5% of
 * none). A reader that stops reading must not grow the process without end: past
 * {@link MAX_UNWRITTEN_BYTES} queued, lines are dropped and counted, and `dropped(count)` (a
 * formatted line) tells how many once the reader catches up, as Docker's non-blocking log mode
 * does. What is pending at exit is handed over then; only a pipe that is full at exit loses it.
 */
export function stderrLines(dropped: (count: number) => string): (line: LogLine) => void {
  const sink = process.stderr;
  let pending: LogLine[] = [];
  let droppedLines = 0;
  let batching: NodeJS.Timeout | undefined;
  // A reader that went away (EPIPE) leaves nothing to tell; it must not end the registry.
  sink.on('error', () => undefined);

  const hand = (lines: readonly LogLine[]): void => {
    if (sink.writableLength > MAX_UNWRITTEN_BYTES) {
      droppedLines += lines.length;
      return;
    }
    let text = droppedLines > 0 ? dropped(droppedLines) : '';
    droppedLines = 0;
    for (const line of lines) text += typeof line === 'string' ? line : line();
    sink.write(text);
  };
  const writePending = (): void => {
    batching = undefined;
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    hand(lines);
    batching = setTimeout(writePending, BATCH_MS).unref();
  };
  process.once('exit', () => {
    if (pending.length > 0) hand(pending);
  });
  return (line) => {
    if (batching !== undefined) {
      pending.push(line);
      return;
    }
    hand([line]);
    batching = setTimeout(writePending, BATCH_MS).unref();
  };
}
