import type { Figure, Settings } from './workloads.js';

/**
 * FUSE mount workloads (sequential write and read, untar of 1,000 small
 * files). They need the mount client; until `callfs mount` exists they report
 * nothing and the run says so.
 */
export async function fuseWorkloads(_base: string, _key: string, _dir: string, _settings: Settings): Promise<Figure[]> {
  return [];
}
