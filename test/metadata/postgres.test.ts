import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { loadMigrations } from '../../src/vfs/metadata/migrations.js';
import { PostgresStore } from '../../src/vfs/metadata/postgres.js';
import { assertUsageOfTreeBeforeTotals, metadataStoreContract, TREE_BEFORE_USAGE_TOTALS } from '../contracts/metadata-store.js';
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
      for (const row of TREE_BEFORE_USAGE_TOTALS) await old.query(insert, [...row]);
    } finally {
      await old.end();
    }
    const store = new PostgresStore({ dsn: db.dsn });
    try {
      await store.migrate();
      await assertUsageOfTreeBeforeTotals(store);
    } finally {
      await store.close();
    }
  } finally {
    await db.drop();
  }
});

test('the usage rows are folded into their sum, and a transaction open meanwhile still counts', { timeout: 60_000 }, async () => {
  const db = await createTestDatabase('usagefold');
  const store = new PostgresStore({ dsn: db.dsn });
  const peek = new pg.Client({ connectionString: db.dsn });
  try {
    await store.migrate();
    await peek.connect();
    const rows = async () => Number((await peek.query('SELECT count(*) AS n FROM usage_deltas')).rows[0].n);
    const file = (name: string, size: number) => ({
      parentId: 1, name, type: 'file' as const, size, mode: 0o644, uid: 0, gid: 0, mtimeMs: 0, ctimeMs: 0, btimeMs: 0, etag: name, blobKey: null, backend: null, instanceId: null,
    });
    // 1,100 size changes, each a row of its own.
    await store.transaction(async (tx) => {
      for (let i = 0; i < 1100; i++) await tx.insert(file(`f${i}`, 10));
    });
    assert.ok((await rows()) > 1000, 'one row per change');
    // A transaction that added a row and has not committed while the fold runs.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((r) => (inserted = r));
    const open = store.transaction(async (tx) => {
      await tx.insert(file('late', 5));
      inserted();
      await held;
    });
    await insertedYet;
    assert.equal(await store.usedBytes(), 11_000, 'uncommitted bytes do not count yet');
    await store.settled();
    assert.equal(await rows(), 1, 'folded into one row');
    release();
    await open;
    assert.equal(await store.usedBytes(), 11_005, 'the open transaction\'s row survived the fold');
    assert.equal(await rows(), 2);
  } finally {
    await peek.end().catch(() => {});
    await store.close();
    await db.drop();
  }
});
