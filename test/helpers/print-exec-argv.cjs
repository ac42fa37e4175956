// Preloaded by a test (NODE_OPTIONS=--require) to report the flags and environment a launcher started Node with.
process.stderr.write(`execArgv ${JSON.stringify(process.execArgv)}\n`);
process.stderr.write(`MALLOC_ARENA_MAX ${process.env.MALLOC_ARENA_MAX ?? ''}\n`);
process.stderr.write(`GLIBC_TUNABLES ${process.env.GLIBC_TUNABLES ?? ''}\n`);
