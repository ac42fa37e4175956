import { randomBytes } from 'node:crypto';

/** A fresh, unguessable blob key: 128 random bits, base32-ish hex, sortable by nothing. */
export function newBlobKey(): string {
  return randomBytes(16).toString('hex');
}

export const BLOB_KEY_PATTERN = /^[0-9a-f]{32}$/;
