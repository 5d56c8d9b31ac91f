import { setFlagsFromString } from 'node:v8';

/**
 * Settings of the Node.js runtime that must be made before anything else runs, so this module
 * is the first thing main.ts imports. An operator's own choice wins over each.
 */

/**
 * libuv runs file I/O on 4 threads unless told otherwise, and an upload's commit holds one
 * for as long as its fsync takes: with four large pushes committing, every other file read
 * of the process (a pull, a manifest) queued behind them. Measured here, 1 MiB pulls during
 * four parallel 64 MiB pushes: p99 103-182 ms with 4 threads, 65-70 ms with 16, and half as
 * many pulls done in the same time. Go, the reference's runtime, starts another thread
 * whenever one blocks. libuv reads the variable once, when the pool first starts.
 *
 * The other commands keep libuv's 4: `garbage-collect` and `storage-use` make a short call per
 * file (a stat, a listing), and on a page-cached tree each idle thread woken for one is two
 * context switches. Measured on the shared 2-core machine: 6,400 stats, 32 in flight, cost the
 * process 88-90 ms of CPU with 4 threads against 111-116 ms with 16; a dry-run collection of
 * 218,003 blobs took 6.45 s (median of 3, 3.1 s system time) against 7.91 s (3.9 s).
 */
process.env.UV_THREADPOOL_SIZE ??= process.argv.includes('serve') ? '16' : '4';

/**
 * Every chunk of a request body is a new buffer that V8 counts as external memory, and each
 * 64 MiB of it starts a full collection of the old generation, however small that is
 * (~30 MiB here). V8 marks it on up to 7 background threads beside the JavaScript, which on a
 * machine of few cores take the cores the registry's own work needs: measured here on 2 cores,
 * 16 pushes of 64 MiB cost 175-255 ms of CPU each with concurrent marking (about a third of
 * it on V8's threads) and 117-150 ms without, at 1.3-1.5× the throughput; the marking done on
 * the main thread instead stays a few milliseconds per collection. `node --concurrent-marking`
 * turns it back on.
 */
if (!process.execArgv.some((arg) => arg.includes('concurrent-marking'))) setFlagsFromString('--no-concurrent-marking');
