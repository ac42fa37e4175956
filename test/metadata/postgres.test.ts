import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { loadMigrations } from '../../src/vfs/metadata/migrations.js';
import { PostgresStore } from '../../src/vfs/metadata/postgres.js';
import { metadataStoreContract } from '../contracts/metadata-store.js';
import { createTestDatabase } from '../helpers/postgres.js';

metadataStoreContract('postgres', async () => {
  const db = await createTestDatabase('contract');
  return { store: new PostgresStore({ dsn: db.dsn }), cleanup: () => db.drop() };
});

test('a PostgreSQL store made before the usage totals existed starts them at the sum of its files', async () => {
  const db = await createTestDatabase('usage');
  try {
    // The schema as a server of the version before migration 0003 left it, with files in it.
    const old = new pg.Client({ connectionString: db.dsn });
    await old.connect();
    try {
      await old.query('CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)');
      for (const m of loadMigrations('postgres').filter((m) => m.version < '0003')) {
        await old.query(m.sql);
        await old.query('INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, 0)', [m.version]);
      }
      const insert = `INSERT INTO nodes (id, parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag) VALUES ($1, $2, $3, $4, $5, 420, 0, 0, 0, 0, 0, 'e')`;
      await old.query(insert, [1, null, '', 'directory', 0]);
      await old.query(insert, [2, 1, 'a', 'file', 1234]);
      await old.query(insert, [3, 1, 'd', 'directory', 4096]);
      await old.query(insert, [4, 3, 'b', 'file', 5678]);
    } finally {
      await old.end();
    }
    const store = new PostgresStore({ dsn: db.dsn });
    try {
      await store.migrate();
      assert.equal(await store.usedBytes(), 1234 + 5678);
      await store.removeTree(3);
      assert.equal(await store.usedBytes(), 1234, 'and keeps them from then on');
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
});
