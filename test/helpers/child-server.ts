import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ADMIN_KEY } from './server.js';
import { freePort } from './free-port.js';
import { waitFor } from './http.js';

export interface ChildServer {
  url: string;
  pid: number;
  dataDir: string;
  process: ChildProcess;
  /** Peak resident set size of the server process so far, in kB (VmHWM). */
  peakRssKb(): number;
  stop(): Promise<void>;
}

/** The real `callfs server` command in its own process, so its memory can be measured. */
export async function startChildServer(config: Record<string, unknown> = {}, options: { dataDir?: string; port?: number } = {}): Promise<ChildServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'callfs-child-'));
  const port = options.port ?? (await freePort());
  const file = path.join(dataDir, 'config.yaml');
  writeFileSync(
    file,
    YAML.stringify({
      data_dir: dataDir,
      log: { level: 'warn' },
      ...config,
      server: { listen_addr: `127.0.0.1:${port}`, ...((config.server as object) ?? {}) },
      auth: { api_keys: [ADMIN_KEY], ...((config.auth as object) ?? {}) },
    }),
  );
  // The compiled command, as users run it (scripts/run-tests.mjs builds it first), so memory is the product's.
  const child = spawn('bin/callfs.js', ['server', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`callfs server exited with ${child.exitCode}: ${stderr}`);
      return fetch(`${url}/health`).then((r) => r.ok, () => false);
    }, 'the child server to answer /health', 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    dataDir,
    process: child,
    peakRssKb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
