#!/usr/bin/env node
// Entry point of the `callfs` command; the code is compiled to dist/ by `npm run build` (run by npm ci).
import v8 from 'node:v8';

// fsync, file opens and reads run in libuv's pool; 4 threads (the default) starve concurrent uploads.
process.env.UV_THREADPOOL_SIZE ??= '16';
// Streams allocate many short-lived 64 KiB buffers; a smaller young generation
// collects them sooner and keeps peak memory ~20 MB lower during large transfers.
v8.setFlagsFromString('--max-semi-space-size=4');

try {
  await import('../dist/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('callfs is not built yet: run `npm run build` (npm ci does it for you).');
    process.exit(2);
  }
  throw err;
}
