import { randomString } from '../random-pool.js';

/** A fresh, unguessable blob key: 128 random bits, base32-ish hex, sortable by nothing. */
export function newBlobKey(): string {
  return randomString(16, 'hex');
}

export const BLOB_KEY_PATTERN = /^[0-9a-f]{32}$/;
