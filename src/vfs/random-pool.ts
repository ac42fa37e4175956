import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * Cryptographically random bytes for identifiers made on every write (ETags,
 * blob keys). One randomFillSync call per 4 KiB rather than one per identifier:
 * a call costs far more than the bytes it returns.
 */
export function randomString(bytes: number, encoding: 'hex' | 'base64url'): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const text = pool.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return text;
}
