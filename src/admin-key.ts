import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * With no credentials configured, CallFS makes one root API key on first
 * start and keeps it (mode 0600) in the data directory, so a fresh install is
 * usable at once and never open.
 */
export function loadOrCreateAdminKey(dataDir: string): { key: string; file: string; created: boolean } {
  const file = path.join(dataDir, 'admin.key');
  try {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, file, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'w' });
  return { key, file, created: true };
}
