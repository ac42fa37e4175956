import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/vfs/metadata/sqlite.js';
import { metadataStoreContract } from '../contracts/metadata-store.js';

metadataStoreContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  return { store: new SqliteStore(path.join(dir, 'metadata.db')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

test('group commit: a lock added by one transaction of a batch is seen by the transactions after it in the batch', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const store = new SqliteStore(path.join(dir, 'metadata.db'));
  try {
    const now = Date.now();
    const lock = { token: 'urn:uuid:batch', path: '/batch', depth: 0 as const, scope: 'exclusive' as const, ownerXml: null, principal: 'alice', timeoutSeconds: 60, createdAtMs: now, expiresAtMs: now + 60_000 };
    // Queued together, they run in order inside one SQLite transaction.
    const [before, , after] = await Promise.all([
      store.transaction(async (tx) => (await tx.locksAffecting('/batch', now, false)).length),
      store.transaction(async (tx) => tx.insertLock(lock)),
      store.transaction(async (tx) => (await tx.locksAffecting('/batch', now, false)).map((l) => l.token)),
    ]);
    assert.equal(before, 0);
    assert.deepEqual(after, ['urn:uuid:batch']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
