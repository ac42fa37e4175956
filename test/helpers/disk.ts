import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';

export interface DiskReading {
  totalBytes: number;
  freeBytes: number;
  availableBytes: number;
}

/** The disk under `dir`, as statfs reports it here. */
export function readDisk(dir: string): DiskReading {
  const s = statfsSync(dir);
  return { totalBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availableBytes: s.bavail * s.bsize };
}

/**
 * Asserts that a free-space figure the server gave lies between readings taken before and after it
 * asked, give or take `margin`: the disk's free space moves with whatever else writes to it, and on
 * ext4 mounted with `discard` a deletion made seconds ago frees its blocks at a later journal commit.
 */
export function assertFreeSpaceBetween(value: number, before: number, after: number, what: string, margin = 64 * 1024 * 1024): void {
  const low = Math.min(before, after) - margin;
  const high = Math.max(before, after) + margin;
  assert.ok(value >= low && value <= high, `${what}: ${value} bytes, the disk had ${before} before and ${after} after`);
}
