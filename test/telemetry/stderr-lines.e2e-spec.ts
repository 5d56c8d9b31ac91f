import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@berth/testing';

/**
 * The logger's stderr, a pipe whose reader stops reading (a log shipper stuck): the registry's
 * event loop keeps turning, the process queues at most 16 MiB of lines and drops the rest,
 * says how many once the reader is back, and what is pending at exit still goes out. A real
 * process, the built logger, a real pipe.
 */
const telemetry = join(repoRoot, 'libs/telemetry/dist/index.js');

// 100 bursts of 1,000 lines of ~1 KB, one every 20 ms: 100 MB against a reader that reads nothing.
const child = `
const { BerthLogger } = require(${JSON.stringify(telemetry)});
const logger = new BerthLogger({ level: 'info' });
const pad = 'x'.repeat(1000);
let ticks = 0;
setInterval(() => ticks++, 10);
let logged = 0;
let mostQueued = 0;
const burst = setInterval(() => {
  for (let i = 0; i < 1000; i++) logger.log('line ' + logged++ + ' ' + pad);
  mostQueued = Math.max(mostQueued, process.stderr.writableLength);
  if (logged < 100000) return;
  clearInterval(burst);
  process.stdout.write(JSON.stringify({ ticks, logged, mostQueued }) + '\\n');
}, 20);
process.stdin.once('data', () => {
  const drained = setInterval(() => {
    if (process.stderr.writableLength > 0) return;
    clearInterval(drained);
    logger.log('after 1');
    logger.log('after 2');
    process.exit(0);
  }, 10);
});
`;

describe('the logger on a stderr pipe nobody reads', () => {
  it('keeps the event loop turning, queues at most 16 MiB, drops and counts the rest, and writes what is pending at exit', async () => {
    const proc = spawn(process.execPath, ['-e', child], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stderr.pause();
    const [report] = (await once(proc.stdout.setEncoding('utf8'), 'data')) as [string];
    const { ticks, logged, mostQueued } = JSON.parse(report) as { ticks: number; logged: number; mostQueued: number };
    expect(logged).toBe(100_000);
    // 100 bursts 20 ms apart take 2 s at least: a 10 ms timer that ran is proof the loop did not wait on the pipe.
    expect(ticks).toBeGreaterThan(50);
    // The bound, plus the one batch handed over while under it (10 ms of lines): far below 100 MB.
    expect(mostQueued).toBeLessThanOrEqual(32 * 1024 * 1024);

    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ended = once(proc.stderr, 'end');
    proc.stderr.resume();
    proc.stdin.write('go\n');
    const [code] = (await once(proc, 'exit')) as [number];
    await ended;
    expect(code).toBe(0);

    const lines = stderr.trimEnd().split('\n');
    const written = lines.filter((line) => / msg="line \d+ x+"/.test(line)).length;
    const notice = lines.find((line) => line.includes('log lines dropped'));
    expect(notice).toMatch(/level=warning msg="(\d+) log lines dropped: stderr's reader fell more than 16 MiB behind"/);
    const dropped = Number(/msg="(\d+) /.exec(notice!)![1]);
    expect(dropped).toBeGreaterThan(0);
    expect(written + dropped).toBe(logged);
    expect(lines.filter((line) => line.includes('log lines dropped'))).toHaveLength(1);
    // The line still pending at exit was written.
    expect(lines.slice(-2).map((line) => /msg="([^"]*)"/.exec(line)?.[1])).toEqual(['after 1', 'after 2']);
  });
});

describe('the logger on a stderr pipe', () => {
  it('writes an access line formatted with its batch in its place among the others, with the time it was logged', async () => {
    // The first line after a quiet spell goes out at once; the next two wait for the batch, here the exit 80 ms on.
    const script = `
const { BerthLogger } = require(${JSON.stringify(telemetry)});
const logger = new BerthLogger({ level: 'info' });
const access = logger.fixedLineWriter('access', ['http.request.id', 'http.request.useragent'], [false, true]);
access('response completed', ['first', 'curl']);
logger.log('in between');
access('response completed', ['second', 'token=Bearer abc.def']);
process.stdout.write(String(Date.now()));
const until = Date.now() + 80;
while (Date.now() < until);
process.exit(0);
`;
    const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(proc, 'close')) as [number];
    expect(code).toBe(0);
    const lines = stderr.trimEnd().split('\n');
    expect(lines.map((line) => /http\.request\.id=(\w+)|msg="in between"/.exec(line)?.[0])).toEqual(['http.request.id=first', 'msg="in between"', 'http.request.id=second']);
    // Logged before the clock was read, formatted 80 ms later: the line has the first moment.
    const loggedAt = Date.parse(/^time="([^"]+)"/.exec(lines[2]!)![1]!);
    expect(loggedAt).toBeLessThanOrEqual(Number(stdout));
    expect(lines[2]).toContain('http.request.useragent="token=Bearer *****"');
  });
});
