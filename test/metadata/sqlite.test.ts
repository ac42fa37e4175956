import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/vfs/metadata/sqlite.js';
import { metadataStoreContract } from '../contracts/metadata-store.js';

metadataStoreContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  return { store: new SqliteStore(path.join(dir, 'metadata.db')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
