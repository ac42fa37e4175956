import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, maskSecrets } from './config/load.js';
import { parseDuration, type Config } from './config/schema.js';
import { openMetadataStore } from './vfs/build.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function load(options: { config?: string; dataDir?: string; listen?: string }): Config {
  const overrides: Record<string, unknown> = {};
  if (options.dataDir) overrides.data_dir = options.dataDir;
  if (options.listen) overrides.server = { listen_addr: options.listen };
  return loadConfig({ file: options.config, overrides });
}

function fail(err: unknown, code = 1): never {
  if (err instanceof ConfigError) console.error(`configuration error:\n${err.message}`);
  else console.error(err instanceof Error ? err.message : String(err));
  process.exit(code);
}

const program = new Command();
program.name('callfs').description('CallFS: one filesystem over WebDAV, a REST API and a FUSE mount').version(pkg.version, '-v, --version');

const configOption = () => new Option('-c, --config <file>', 'YAML config file (env CALLFS_<SECTION>__<KEY> overrides it)');

program
  .command('server')
  .description('run the server (with no config: SQLite + local disk under ./data, http://127.0.0.1:8443)')
  .addOption(configOption())
  .option('-d, --data-dir <dir>', 'data directory for the embedded defaults (default ./data)')
  .option('-l, --listen <host:port>', 'listen address (overrides server.listen_addr)')
  .action(async (options: { config?: string; dataDir?: string; listen?: string }) => {
    let config: Config;
    try {
      config = load(options);
    } catch (err) {
      fail(err);
    }
    const { createServer } = await import('./server.js');
    const server = await createServer(config).catch((err: unknown) => fail(err));
    await startHeapCeiling((c) => server.logger.debug(c, 'heap over its ceiling: forced a garbage collection'));
    let url: string;
    try {
      url = await server.listen();
    } catch (err) {
      await server.close().catch(() => {});
      fail(err);
    }
    server.logger.info({ url, instance_id: server.vfs.instanceId, metadata: config.metadata_store.type, backend: config.backend.default_backend }, 'CallFS listening');
    const key = server.adminKey;
    const out = process.stderr;
    out.write(`\nCallFS is serving ${url}\n  REST API: ${url}/v1/files/\n  WebDAV:   ${url}${config.server.dav_prefix}\n`);
    if (key?.created) {
      out.write(`\nNo credentials were configured, so an admin API key was created and stored in ${key.file} (mode 0600).\nIt is shown this once:\n\n  ${key.key}\n\nTry it:\n  curl -H "Authorization: Bearer ${key.key}" ${url}/v1/files/\n\n`);
    } else if (key) {
      out.write(`  Admin API key: in ${key.file}\n  Try: curl -H "Authorization: Bearer $(cat ${key.file})" ${url}/v1/files/\n\n`);
    }
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.logger.info({ signal }, 'shutting down');
      await server.close().catch((err: unknown) => server.logger.error({ err }, 'error during shutdown'));
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

const configCmd = program.command('config').description('configuration tools');
configCmd
  .command('validate')
  .description('check a config file; exit 1 with the offending field, 0 with a summary (secrets masked)')
  .addOption(configOption())
  .action((options: { config?: string }) => {
    try {
      const config = load(options);
      console.log('configuration is valid:');
      console.log(JSON.stringify(maskSecrets(config), null, 2));
    } catch (err) {
      fail(err);
    }
  });

program
  .command('migrate')
  .description('apply pending metadata schema migrations and exit')
  .addOption(configOption())
  .option('-d, --data-dir <dir>', 'data directory (default ./data)')
  .action(async (options: { config?: string; dataDir?: string }) => {
    try {
      const config = load(options);
      const store = await openMetadataStore(config);
      await store.close();
      console.log(`metadata store (${config.metadata_store.type}) is up to date`);
    } catch (err) {
      fail(err, err instanceof ConfigError ? 1 : 2);
    }
  });

program
  .command('fsck')
  .description('compare metadata with the backends: orphan blobs, missing blobs, size mismatches; exit 0 clean, 1 problems, 2 could not run')
  .addOption(configOption())
  .option('-d, --data-dir <dir>', 'data directory (default ./data)')
  .option('--repair', 'remove orphans older than the grace period; empty files whose content is missing and mark them (property urn:callfs:fsck content-lost)')
  .option('--grace <duration>', 'unreferenced blobs younger than this are uploads in flight, never orphans (e.g. 30m, 1h)', '1h')
  .action(async (options: { config?: string; dataDir?: string; repair?: boolean; grace: string }) => {
    let config: Config;
    let graceSeconds: number;
    try {
      config = load(options);
      if (!/^\d+(\.\d+)?(ms|s|m|h)?$/.test(options.grace)) throw new Error(`--grace ${options.grace}: use seconds or a duration such as 30m, 1h`);
      graceSeconds = /^\d+(\.\d+)?$/.test(options.grace) ? Number(options.grace) : parseDuration(options.grace);
    } catch (err) {
      fail(err, 2);
    }
    const { runFsckCommand } = await import('./fsck/command.js');
    process.exit(await runFsckCommand(config, { repair: options.repair === true, graceSeconds, write: (line) => console.log(line) }));
  });

program
  .command('mount')
  .description('mount a CallFS server on a local directory (FUSE; needs libfuse2)')
  .argument('<server-url>', 'e.g. http://127.0.0.1:8443')
  .argument('<mountpoint>', 'an existing directory')
  .option('--api-key <key>', 'API key (default: env CALLFS_API_KEY)')
  .option('--cache-ttl <seconds>', 'how long attributes and listings are cached', '1')
  .option('--timeout <seconds>', 'a request without progress for this long fails with EIO', '10')
  .option('--read-only', 'refuse every change with EROFS')
  .option('-o, --options <opts>', 'mount options: allow_other, allow_root, default_permissions (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
  .action(async (serverUrl: string, mountpoint: string, options: import('./fuse/command.js').MountCommandOptions) => {
    const { mountCommand } = await import('./fuse/command.js');
    await startHeapCeiling(() => {});
    await mountCommand(serverUrl, mountpoint, options).catch((err: unknown) => fail(err));
  });

program
  .command('unmount')
  .description('unmount a callfs mount (pending writes are uploaded when files are closed)')
  .argument('<mountpoint>')
  .action(async (mountpoint: string) => {
    const { unmountCommand } = await import('./fuse/command.js');
    try {
      unmountCommand(mountpoint);
    } catch (err) {
      fail(err);
    }
  });

/** For the long-running commands: see heap-ceiling.ts. */
async function startHeapCeiling(onCollect: (collection: import('./heap-ceiling.js').Collection) => void): Promise<void> {
  const { HeapCeiling, DEFAULT_HEAP_CEILING } = await import('./heap-ceiling.js');
  new HeapCeiling(DEFAULT_HEAP_CEILING).start(250, onCollect);
}

await program.parseAsync(process.argv);
