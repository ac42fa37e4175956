#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point of the `callfs` command; the code is compiled to dist/ by `npm run build` (run by npm ci).
//
// Memory: a smaller young generation (4 MiB semi-spaces; fixed when the heap is set up, so only
// from the command line: the line above, or `node --max-semi-space-size=4 bin/callfs.js`) keeps
// peak RSS about 25 MB lower at no measured cost. The old generation is kept in check by the
// soft ceiling of src/heap-ceiling.ts, not by --optimize-for-size (used before): that flag made
// every large transfer run a full collection per ~20 MiB, which tripled the CPU of a 256 MiB GET
// and halved its throughput, and it added about a fifth to the CPU of small requests.

// fsync, file opens and reads run in libuv's pool; 4 threads (the default) starve concurrent uploads.
process.env.UV_THREADPOOL_SIZE ??= '16';

try {
  await import('../dist/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('callfs is not built yet: run `npm run build` (npm ci does it for you).');
    process.exit(2);
  }
  throw err;
}
