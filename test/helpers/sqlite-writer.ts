// Another process writing the same SQLite file, as `callfs fsck --repair` does: adds one lock and exits.
// Usage: node --import tsx test/helpers/sqlite-writer.ts <database file> <token>
import { SqliteStore } from '../../src/vfs/metadata/sqlite.js';

const [file, token] = process.argv.slice(2);
if (!file || !token) throw new Error('usage: sqlite-writer.ts <database file> <token>');
const store = new SqliteStore(file);
const now = Date.now();
await store.transaction(async (tx) =>
  tx.insertLock({ token, path: `/${token}`, depth: 0, scope: 'exclusive', ownerXml: null, principal: 'alice', timeoutSeconds: 60, createdAtMs: now, expiresAtMs: now + 60_000 }),
);
await store.close();
