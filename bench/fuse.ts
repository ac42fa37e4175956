import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isFuseMounted } from '../src/fuse/mounts.js';
import type { Figure, Settings } from './workloads.js';

const run = promisify(execFile);
const sh = (command: string) => run('bash', ['-c', command], { maxBuffer: 16 * 1024 * 1024 });

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function mount(base: string, key: string, mountpoint: string): Promise<() => Promise<void>> {
  mkdirSync(mountpoint, { recursive: true });
  const child = spawn('bin/callfs.js', ['mount', base, mountpoint, '--api-key', key], { stdio: ['ignore', 'ignore', 'inherit'] });
  await until('the FUSE mount', () => {
    if (child.exitCode !== null) throw new Error(`callfs mount exited with ${child.exitCode}`);
    return isFuseMounted(mountpoint);
  });
  return async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}

/**
 * The FUSE mount's sequential write and read of `largeBytes` (the read after
 * a remount, so the kernel's page cache cannot answer it), and an untar of
 * 1,000 small files. Absolute figures: there is no reference mount.
 */
export async function fuseWorkloads(base: string, key: string, dir: string, settings: Settings): Promise<Figure[]> {
  const mnt = path.join(dir, 'mnt');
  const mb = Math.max(1, Math.round(settings.largeBytes / (1024 * 1024)));
  const tarball = path.join(dir, 'small-files.tar');
  const src = path.join(dir, 'small-src');
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < 1000; i++) writeFileSync(path.join(src, `file-${i}.txt`), `small file ${i}\n`.repeat(1 + (i % 64)));
  await sh(`tar cf ${tarball} -C ${src} .`);

  const figures: Figure[] = [];
  let unmount = await mount(base, key, mnt);
  try {
    let started = performance.now();
    await sh(`dd if=/dev/zero of=${mnt}/fuse-seq.bin bs=1M count=${mb} status=none conv=fsync`);
    figures.push({ workload: `FUSE sequential write ${mb} MiB`, unit: 'MiB/s', value: mb / ((performance.now() - started) / 1000) });
    await unmount();
    unmount = await mount(base, key, mnt);
    started = performance.now();
    await sh(`cat ${mnt}/fuse-seq.bin > /dev/null`);
    figures.push({ workload: `FUSE sequential read ${mb} MiB`, unit: 'MiB/s', value: mb / ((performance.now() - started) / 1000) });
    await sh(`rm -f ${mnt}/fuse-seq.bin && mkdir -p ${mnt}/untar`);
    started = performance.now();
    await sh(`tar xf ${tarball} -C ${mnt}/untar`);
    figures.push({ workload: 'FUSE untar 1,000 small files', unit: 's', value: (performance.now() - started) / 1000, lowerIsBetter: true });
    await sh(`rm -rf ${mnt}/untar`);
  } finally {
    await unmount();
  }
  return figures;
}
