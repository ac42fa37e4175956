import type { RemoteUsage } from './rest-client.js';

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

const BLOCK = 4096;
/** The binding passes each figure to the kernel as 32 bits: larger filesystems are counted in larger blocks. */
const MAX_COUNT = 2 ** 32 - 1;
/** Free space shown when the backend has no fixed size (S3): 8 TiB, so tools that check before writing proceed. */
const UNBOUNDED_FREE = 2 ** 43;
/** The server keeps no count of entries: inode figures are large round numbers, as `df -i` shows for btrfs or NFS. */
const FILES = 2 ** 31;

/**
 * statfs (df) of the mount from GET /v1/usage: the server's disk under localfs as `statfs` there
 * sees it (as df of an NFS mount shows the server's filesystem); for a backend without a size, or a
 * server without the route, what is stored as used and a large free space.
 */
export function statfsOf(usage: RemoteUsage | null): StatFs {
  let total: number;
  let free: number;
  let available: number;
  if (usage && usage.total_bytes !== null && usage.free_bytes !== null && usage.available_bytes !== null) {
    [total, free, available] = [usage.total_bytes, usage.free_bytes, usage.available_bytes];
  } else {
    free = available = UNBOUNDED_FREE;
    total = (usage?.used_bytes ?? 0) + UNBOUNDED_FREE;
  }
  let unit = BLOCK;
  while (total / unit > MAX_COUNT) unit *= 2;
  const blocks = (bytes: number) => Math.min(MAX_COUNT, Math.floor(bytes / unit));
  return {
    bsize: unit,
    frsize: unit,
    blocks: blocks(total),
    bfree: blocks(free),
    bavail: blocks(available),
    files: FILES,
    ffree: FILES,
    favail: FILES,
    fsid: 0x43414c4c,
    flag: 0,
    namemax: 255,
  };
}
