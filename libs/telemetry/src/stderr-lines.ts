/** How long lines that follow a write wait to be written together with the ones after them. */
const BATCH_MS = 100;

/** What stderr may hold unwritten before lines are dropped: its reader has stalled, not slowed. */
export const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024;

/**
 * Lines to stderr, written from the event loop without ever waiting on it. On a pipe (a
 * container's log, the usual case) Node's stream writes at once when the pipe has room and
 * queues the rest in libuv until it has: no thread pool, no blocking. A file or a terminal is
 * written synchronously, as Node does for them.
 *
 * A line after a quiet spell is written at once; the lines of the next 100 ms go out together,
 * one write for a few hundred requests (issue 18: an access line per request within 5% of
 * none). A reader that stops reading must not grow the process without end: past
 * {@link MAX_UNWRITTEN_BYTES} queued, lines are dropped and counted, and `dropped(count)` (a
 * formatted line) tells how many once the reader catches up, as Docker's non-blocking log mode
 * does. What is pending at exit is handed over then; only a pipe that is full at exit loses it.
 */
export function stderrLines(dropped: (count: number) => string): (line: string) => void {
  const sink = process.stderr;
  let pending = '';
  let pendingLines = 0;
  let droppedLines = 0;
  let batching: NodeJS.Timeout | undefined;
  // A reader that went away (EPIPE) leaves nothing to tell; it must not end the registry.
  sink.on('error', () => undefined);

  const hand = (text: string, lines: number): void => {
    if (sink.writableLength > MAX_UNWRITTEN_BYTES) {
      droppedLines += lines;
      return;
    }
    if (droppedLines > 0) {
      sink.write(dropped(droppedLines));
      droppedLines = 0;
    }
    sink.write(text);
  };
  const writePending = (): void => {
    batching = undefined;
    if (pendingLines === 0) return;
    hand(pending, pendingLines);
    pending = '';
    pendingLines = 0;
    batching = setTimeout(writePending, BATCH_MS).unref();
  };
  process.once('exit', () => {
    if (pendingLines > 0) hand(pending, pendingLines);
  });
  return (line) => {
    if (batching !== undefined) {
      pending += line;
      pendingLines++;
      return;
    }
    hand(line, 1);
    batching = setTimeout(writePending, BATCH_MS).unref();
  };
}
