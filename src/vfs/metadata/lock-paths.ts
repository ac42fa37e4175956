import { ancestorsOf } from '../path.js';

/** Ancestors of a path whose depth-infinity locks cover it. */
export function lockAncestors(path: string): string[] {
  return ancestorsOf(path);
}

/**
 * Half-open byte-order range [lo, hi) holding every path strictly below `path`.
 * '0' is the byte after '/', so `/a/` ≤ p < `/a0` selects `/a/...` and nothing else.
 */
export function descendantRange(path: string): [string, string] {
  const prefix = path === '/' ? '/' : path + '/';
  return [prefix, prefix.slice(0, -1) + '0'];
}
