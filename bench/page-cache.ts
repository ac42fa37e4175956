import { spawnSync } from 'node:child_process';
import { rmSync, truncateSync } from 'node:fs';
import path from 'node:path';

/**
 * Gets the machine ready for a measured large write: no dirty pages left by earlier workloads (the disk
 * would still be writing them back, by an amount that differs from server to server), and page-cache
 * memory that was freed a moment ago, which the write then reuses.
 *
 * Why the second: on a VM whose balloon device reports free pages to the host, memory left free for a
 * few seconds is handed back, and the first write into each such page waits for the host to fault it
 * in. On the 2-core VM this was found on, a write into such pages ran at about 0.5 GB/s, into pages
 * freed a moment before at about 8 GB/s. Without this, whichever of `dd` and a server happened to write right
 * after another file was deleted got the fast pages, and the ratio measured that order, not the server.
 * A scratch file a quarter larger than the coming write is written to the page cache and deleted (its
 * pages never reach the disk), so every measured write starts from the same state.
 */
export function prepareForLargeWrite(scratchDir: string, bytes: number): void {
  spawnSync('sync');
  const scratch = path.join(scratchDir, 'page-cache-primer.bin');
  try {
    writeZeros(scratch, Math.ceil(bytes * 1.25));
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** `bytes` zero bytes into `file`, through the page cache (no fsync). */
export function writeZeros(file: string, bytes: number): void {
  const dd = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${Math.ceil(bytes / (1024 * 1024))}`, 'status=none']);
  if (dd.status !== 0) throw new Error(`dd could not write ${file}: ${dd.stderr.toString().trim()}`);
  truncateSync(file, bytes);
}
