import { createHash, timingSafeEqual } from 'node:crypto';

/** Header that carries auth.internal_proxy_secret between nodes. */
export const INTERNAL_SECRET_HEADER = 'x-callfs-internal-secret';

/** Constant-time comparison (of digests, so the length of the secret does not leak either). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
