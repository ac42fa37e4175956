import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFuse, type FuseInstance } from './binding.js';
import { ERRNO } from './errno.js';
import { isFuseMounted } from './mounts.js';
import { CallFsOperations } from './operations.js';
import { RestClient } from './rest-client.js';

export interface MountOptions {
  serverUrl: string;
  mountpoint: string;
  apiKey?: string;
  cacheTtlSeconds: number;
  timeoutSeconds: number;
  readOnly: boolean;
  /** -o options passed to the kernel mount (allow_other, allow_root, default_permissions). */
  mountOptions: string[];
}

const KERNEL_OPTIONS = new Set(['allow_other', 'allow_root', 'default_permissions', 'ro']);
const log = (message: string) => process.stderr.write(`${new Date().toISOString()} callfs mount: ${message}\n`);

/** Splits `-o a,b` values and refuses options the mount does not know. */
export function parseMountOptions(values: string[]): string[] {
  const options = values.flatMap((v) => v.split(',')).map((o) => o.trim()).filter(Boolean);
  const unknown = options.filter((o) => !KERNEL_OPTIONS.has(o));
  if (unknown.length) throw new Error(`unknown mount option(s): ${unknown.join(', ')} (known: ${[...KERNEL_OPTIONS].join(', ')})`);
  return options;
}

type Cb = (result: number, ...values: unknown[]) => void;

/** fuse-native's callback style: cb(0, value) or cb(-errno); read/write answer the byte count. */
function adapt(ops: CallFsOperations) {
  const run = <T>(op: string, path: string, cb: Cb, task: () => Promise<T> | T, answer: (value: T) => unknown[] = () => [0]) => {
    Promise.resolve()
      .then(task)
      .then(
        (value) => cb(...(answer(value) as [number, ...unknown[]])),
        (err: unknown) => cb(-ops.errnoFor(op, path, err)),
      );
  };
  return {
    getattr: (p: string, cb: Cb) => run('getattr', p, cb, () => ops.getattr(p), (s) => [0, s]),
    readdir: (p: string, cb: Cb) => run('readdir', p, cb, () => ops.readdir(p), (r) => [0, r.names, r.stats]),
    open: (p: string, flags: number, cb: Cb) => run('open', p, cb, () => ops.open(p, flags), (fh) => [0, fh]),
    create: (p: string, mode: number, cb: Cb) => run('create', p, cb, () => ops.create(p, mode), (fh) => [0, fh]),
    read: (p: string, fh: number, buf: Buffer, len: number, pos: number, cb: Cb) => run('read', p, cb, () => ops.read(p, fh, buf, len, pos), (n) => [n]),
    write: (p: string, fh: number, buf: Buffer, len: number, pos: number, cb: Cb) => run('write', p, cb, () => ops.write(p, fh, buf, len, pos), (n) => [n]),
    flush: (p: string, fh: number, cb: Cb) => run('flush', p, cb, () => ops.flush(p, fh)),
    fsync: (p: string, _datasync: number, fh: number, cb: Cb) => run('fsync', p, cb, () => ops.fsync(p, fh)),
    release: (p: string, fh: number, cb: Cb) => run('release', p, cb, () => ops.release(p, fh)),
    truncate: (p: string, size: number, cb: Cb) => run('truncate', p, cb, () => ops.truncate(p, size)),
    ftruncate: (p: string, fh: number, size: number, cb: Cb) => run('ftruncate', p, cb, () => ops.ftruncate(p, fh, size)),
    utimens: (p: string, atime: number | null, mtime: number | null, cb: Cb) => run('utimens', p, cb, () => ops.utimens(p, atime, mtime)),
    chmod: (p: string, mode: number, cb: Cb) => run('chmod', p, cb, () => ops.chmod(p, mode)),
    chown: (p: string, uid: number, gid: number, cb: Cb) => run('chown', p, cb, () => ops.chown(p, uid, gid)),
    mkdir: (p: string, mode: number, cb: Cb) => run('mkdir', p, cb, () => ops.mkdir(p, mode)),
    unlink: (p: string, cb: Cb) => run('unlink', p, cb, () => ops.unlink(p)),
    rmdir: (p: string, cb: Cb) => run('rmdir', p, cb, () => ops.rmdir(p)),
    rename: (p: string, dest: string, cb: Cb) => run('rename', p, cb, () => ops.rename(p, dest)),
    statfs: (p: string, cb: Cb) => run('statfs', p, cb, () => ops.statfs(), (s) => [0, s]),
    // The server has no links: creating one is EPERM (as on a filesystem without them), and nothing is a link.
    symlink: (_target: string, _p: string, cb: Cb) => cb(-ERRNO.EPERM),
    link: (_target: string, _p: string, cb: Cb) => cb(-ERRNO.EPERM),
    readlink: (_p: string, cb: Cb) => cb(-ERRNO.EINVAL),
  };
}

/** Mounts the server and serves until SIGINT/SIGTERM or an external unmount; pending writes are uploaded first. */
export async function runMount(options: MountOptions): Promise<void> {
  const mountpoint = path.resolve(options.mountpoint);
  const stat = statSync(mountpoint, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) throw new Error(`mountpoint ${mountpoint} is not a directory`);
  if (isFuseMounted(mountpoint)) throw new Error(`${mountpoint} is already mounted (callfs unmount ${mountpoint})`);
  const Fuse = await loadFuse();

  const client = new RestClient({ serverUrl: options.serverUrl, apiKey: options.apiKey, timeoutMs: options.timeoutSeconds * 1000 });
  try {
    const root = await client.stat('/');
    if (root.type !== 'directory') throw new Error('the root is not a directory');
  } catch (err) {
    client.close();
    throw new Error(`cannot use ${options.serverUrl}: ${(err as Error).message} (is the server running, and is the API key right?)`);
  }

  const spoolDir = mkdtempSync(path.join(tmpdir(), 'callfs-spool-'));
  const ops = new CallFsOperations(client, { cacheTtlMs: options.cacheTtlSeconds * 1000, readOnly: options.readOnly, spoolDir, log });
  const kernelOptions = [
    'fsname=callfs',
    'subtype=callfs',
    // 128 KiB writes instead of 4 KiB: 32 times fewer round trips into JavaScript.
    'big_writes',
    `entry_timeout=${options.cacheTtlSeconds}`,
    `attr_timeout=${options.cacheTtlSeconds}`,
    ...(options.readOnly ? ['ro'] : []),
    ...options.mountOptions,
  ];
  // Our own timeouts answer EIO; the binding's (15 s, ETIMEDOUT) would cut off a long upload in flush.
  const fuse = new Fuse(mountpoint, adapt(ops) as never, { timeout: false });
  // fuse-native only knows a fixed set of options; hand libfuse ours as they are.
  (fuse as unknown as { _fuseOptions: () => string })._fuseOptions = () => `-o${[...new Set(kernelOptions)].join(',')}`;
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(new Error(`mount failed: ${err.message}`)) : resolve())));
  log(`${options.serverUrl} mounted on ${mountpoint}${options.readOnly ? ' (read-only)' : ''}`);

  let stopping = false;
  const stop = async (reason: string, unmountNeeded: boolean) => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    log(`${reason}: uploading pending writes, then unmounting`);
    const failed = await ops.flushAll();
    if (unmountNeeded) await unmountFuse(fuse);
    client.close();
    // Spool files of uploads that failed are the only copy of that data: keep them then.
    if (failed.length === 0 && !ops.keptSpoolFiles) rmSync(spoolDir, { recursive: true, force: true });
    else log(`content that could not be uploaded is kept in ${spoolDir}`);
    process.exit(failed.length ? 1 : 0);
  };
  // Noticing `callfs unmount` / fusermount -u from outside; also keeps the process alive.
  const watch = setInterval(() => {
    if (!isFuseMounted(mountpoint)) void stop('unmounted', false);
  }, 500);
  process.once('SIGINT', () => void stop('SIGINT', true));
  process.once('SIGTERM', () => void stop('SIGTERM', true));
}

function unmountFuse(fuse: FuseInstance): Promise<void> {
  return new Promise((resolve) =>
    fuse.unmount((err) => {
      if (err) log(`unmount: ${err.message}`);
      resolve();
    }),
  );
}

/** `callfs unmount`: fusermount -u, which refuses while files are open (pending writes are uploaded on close). */
export function unmount(mountpoint: string): void {
  const target = path.resolve(mountpoint);
  if (!isFuseMounted(target)) throw new Error(`${target} is not a FUSE mount`);
  for (const command of ['fusermount', 'fusermount3', 'umount']) {
    const args = command === 'umount' ? [target] : ['-u', target];
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') continue;
    if (result.status === 0) return;
    throw new Error(`${command} ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()} (files still open? close them, or use fusermount -uz for a lazy unmount)`);
  }
  throw new Error('neither fusermount nor umount was found');
}
