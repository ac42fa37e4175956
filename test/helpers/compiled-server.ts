import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ADMIN_KEY } from './server.js';

export interface ChildServer {
  url: string;
  pid: number;
  dataDir: string;
  configFile: string;
  /** Peak resident set size of the server process so far, bytes (VmHWM). */
  peakRss(): number;
  close(): Promise<void>;
}

/**
 * Compiles src/ the way `npm run build` does, into a throw-away directory
 * under .tmp/ (package.json and migrations/ linked beside it, as in a
 * package), and returns the path of its cli.js. Memory is measured on this,
 * the shape the `callfs` binary runs: under `--import tsx` the loader thread
 * and transpiled sources add some 35-50 MB that no deployment carries.
 */
export function buildCli(): { cli: string; cleanup(): void } {
  mkdirSync('.tmp', { recursive: true });
  const root = mkdtempSync(path.join(path.resolve('.tmp'), 'build-'));
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', path.join(root, 'dist')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  symlinkSync(path.resolve('package.json'), path.join(root, 'package.json'));
  symlinkSync(path.resolve('migrations'), path.join(root, 'migrations'));
  return { cli: path.join(root, 'dist', 'cli.js'), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * `callfs server --config <file>` as its own process, so its memory can be
 * measured alone: `node <cli>` when a compiled cli.js is given, else
 * `node --import tsx src/cli.ts`.
 */
export async function startChildServer(config: Record<string, unknown>, options: { cli?: string } = {}): Promise<ChildServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'callfs-child-'));
  const configFile = path.join(dataDir, 'callfs.yaml');
  writeFileSync(
    configFile,
    stringify({ data_dir: dataDir, server: { listen_addr: '127.0.0.1:0' }, auth: { api_keys: [ADMIN_KEY] }, log: { level: 'error' }, ...config }),
  );
  const entry = options.cli ? [options.cli] : ['--import', 'tsx', 'src/cli.ts'];
  const child: ChildProcess = spawn(process.execPath, [...entry, 'server', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: process.env,
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`callfs server did not start within 60 s:\n${stderr}`)), 60_000);
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /CallFS is serving (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`callfs server exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    dataDir,
    configFile,
    peakRss() {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (!m) throw new Error('no VmHWM in /proc/<pid>/status');
      return Number(m[1]) * 1024;
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
