#!/usr/bin/env -S MALLOC_ARENA_MAX=2 GLIBC_TUNABLES=glibc.malloc.trim_threshold=16777216:glibc.malloc.mmap_threshold=4194304 node --max-semi-space-size=4 --heap-growing-percent=300
// Entry point of the `callfs` command; the code is compiled to dist/ by `npm run build` (run by npm ci).
//
// Memory: a smaller young generation (4 MiB semi-spaces; fixed when the heap is set up, so only
// from the command line: the line above, or `node --max-semi-space-size=4 --heap-growing-percent=300
// bin/callfs.js`) keeps peak RSS about 25 MB lower at no measured cost. The old generation is kept
// in check by the soft ceiling of src/heap-ceiling.ts. V8's own limit is then set wide on purpose
// (--heap-growing-percent=300, the factor V8 itself uses at most): after a quiet spell V8 sets its
// limit just above what is live, and the Buffers of a 1 GiB upload then brought on a full
// collection every ~30 MiB (34 of them, at two thirds of the throughput). --optimize-for-size,
// used before, did the same to every large transfer and added about a fifth to the CPU of small
// requests. MALLOC_ARENA_MAX=2 (read by glibc once, at startup, hence the shebang; to choose
// another value, start node yourself) keeps glibc from giving threads arenas of their own that hold
// on to freed memory: peak RSS 5–9 MB lower over a 1 GiB upload and download. GLIBC_TUNABLES (like
// MALLOC_ARENA_MAX, it replaces a value set in the environment; start node yourself to choose
// another) keeps glibc from handing freed heap back to the kernel until 16 MiB of it sits free at the top (by
// default it trims above 128 KiB or so), and serves blocks up to 4 MiB (a download's 512 KiB reads)
// from the heap rather than from a fresh mmap each time: the 64 KiB Buffers that every upload's
// chunks are copied into are then carved from memory already mapped, instead of memory the kernel
// must fault in again after each collection. On a VM where a page fault exits to the hypervisor,
// a 1 GiB upload took 6,500–12,000 faults and 0.85–1.0 s of CPU without it, under 500 faults
// and 0.75–0.8 s with it. It costs no peak memory: two fresh servers, with and without it, given
// the same uploads, downloads and small PUTs, peaked within 0.5 MB of each other.

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
