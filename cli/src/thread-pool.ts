/**
 * libuv runs file I/O on 4 threads unless told otherwise, and an upload's commit holds one
 * for as long as its fsync takes: with four large pushes committing, every other file read
 * of the process (a pull, a manifest) queued behind them. Measured here, 1 MiB pulls during
 * four parallel 64 MiB pushes: p99 103-182 ms with 4 threads, 65-70 ms with 16, and half as
 * many pulls done in the same time. Go, the reference's runtime, starts another thread
 * whenever one blocks. libuv reads the variable once, when the pool first starts, so this
 * module is the first thing main.ts imports; an operator's own UV_THREADPOOL_SIZE wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
