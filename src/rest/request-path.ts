import { normalizeUrlPath } from '../vfs/path.js';

export interface TreeTarget {
  /** Normalised tree path. */
  path: string;
  /** The URL ended in `/`: list (GET) or create a directory (POST). */
  trailingSlash: boolean;
}

/**
 * The tree path a /v1 URL addresses. Taken from the raw URL, not from the
 * router's decoded parameter, so that percent-decoding and normalisation
 * happen exactly once, in vfs/path.ts.
 */
export function treeTarget(rawUrl: string, prefix: string): TreeTarget {
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rest = pathname.slice(prefix.length);
  return { path: normalizeUrlPath(rest === '' ? '/' : rest), trailingSlash: rest === '' || rest.endsWith('/') };
}
