import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A random secret kept in the data directory (mode 0600), made on first use.
 * This is how a setup without configuration gets an admin key (never open)
 * and a link-signing secret.
 */
export function loadOrCreateSecretFile(dataDir: string, name: string): { key: string; file: string; created: boolean } {
  const file = path.join(dataDir, name);
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
