// Preloaded by a test (NODE_OPTIONS=--require) to report the flags a launcher started Node with.
process.stderr.write(`execArgv ${JSON.stringify(process.execArgv)}\n`);
