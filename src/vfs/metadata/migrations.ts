import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export interface Migration {
  version: string;
  sql: string;
}

// src/vfs/metadata and dist/vfs/metadata are both three levels below the package root.
const MIGRATIONS_ROOT = fileURLToPath(new URL('../../../migrations/', import.meta.url));

/** The migrations of one dialect, in the order their file names sort. */
export function loadMigrations(dialect: 'sqlite' | 'postgres'): Migration[] {
  const dir = path.join(MIGRATIONS_ROOT, dialect);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({ version: f.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, f), 'utf8') }));
}
