#!/usr/bin/env -S node --max-semi-space-size=4 --optimize-for-size
// Entry point of the `callfs` command; the code is compiled to dist/ by `npm run build` (run by npm ci).
//
// Memory: V8's defaults let a busy server's heap grow well past what it holds live (peak RSS
// ~180 MB after a few thousand small requests, ~120 MB with these flags, at no measured cost in
// throughput). The young-generation size is fixed when the heap is set up, so it takes effect only
// from the command line (the line above, or `node --max-semi-space-size=4 bin/callfs.js`);
// --optimize-for-size also works when set here, so `node bin/callfs.js` keeps the slower heap growth.
import v8 from 'node:v8';

// fsync, file opens and reads run in libuv's pool; 4 threads (the default) starve concurrent uploads.
process.env.UV_THREADPOOL_SIZE ??= '16';
v8.setFlagsFromString('--optimize-for-size');

try {
  await import('../dist/cli.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('callfs is not built yet: run `npm run build` (npm ci does it for you).');
    process.exit(2);
  }
  throw err;
}
