import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isFuseMounted } from '../../src/fuse/mounts.js';
import { ADMIN_KEY } from '../helpers/server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

export interface TestMount {
  mountpoint: string;
  child: ChildProcess;
  /** What the mount process wrote to stderr so far. */
  log(): string;
  /** Resolves with the exit code when the mount process ends. */
  exited: Promise<number | null>;
  /** SIGTERM, wait, then a lazy unmount no matter what, so a failed test never leaves a stale mount. */
  stop(): Promise<void>;
}

/** Waits for a condition, polling; never a blind sleep. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Spawns the real CLI (`callfs mount`) as a child process and waits until the kernel lists the mount. */
export async function startMount(serverUrl: string, args: string[] = [], options: { mountpoint?: string; keyFromEnv?: boolean; apiKey?: string } = {}): Promise<TestMount> {
  const { mountpoint } = options;
  if (!existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing: the FUSE tests need a kernel with FUSE (modprobe fuse) and fuse3/libfuse2 installed');
  const dir = mountpoint ?? (await mkdtemp(path.join(tmpdir(), 'callfs-mnt-')));
  const key = options.keyFromEnv ? [] : ['--api-key', options.apiKey ?? ADMIN_KEY];
  // The compiled command (scripts/run-tests.mjs builds it first), so the client's memory is the product's.
  const child = spawn('bin/callfs.js', ['mount', serverUrl, dir, ...key, ...args], {
    cwd: repoRoot,
    env: { ...process.env, CALLFS_API_KEY: options.keyFromEnv ? ADMIN_KEY : '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  const stop = async () => {
    if (!dead) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
      clearTimeout(timer);
    }
    if (isFuseMounted(dir)) await run('fusermount', ['-uz', dir]).catch(() => {});
    if (!dead) child.kill('SIGKILL');
    if (!mountpoint) await rmdir(dir).catch(() => {});
  };
  try {
    await waitFor('the mount to appear in /proc/mounts', () => {
      if (dead) throw new Error(`callfs mount exited before mounting:\n${stderr}`);
      return isFuseMounted(dir);
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { mountpoint: dir, child, log: () => stderr, exited, stop };
}

/** Runs a shell command (async: the server under test lives in this process, a sync call would deadlock it). */
export async function sh(command: string, timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('bash', ['-c', command], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Runs a shell command expected to fail; returns its stderr. */
export async function shFails(command: string, timeoutMs = 60_000): Promise<string> {
  try {
    await run('bash', ['-c', command], { timeout: timeoutMs });
  } catch (err) {
    const e = err as { stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`${command} hung (killed after ${timeoutMs} ms)`);
    return e.stderr ?? '';
  }
  throw new Error(`expected failure: ${command}`);
}
