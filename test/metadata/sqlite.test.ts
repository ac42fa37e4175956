import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isVfsError } from '../../src/vfs/errors.js';
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

test('a failed fsync of the write-ahead log fails its batch and every write after it, and the store reports unhealthy', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const store = new SqliteStore(path.join(dir, 'metadata.db'));
  const lock = (token: string) => {
    const now = Date.now();
    return { token, path: `/${token}`, depth: 0 as const, scope: 'exclusive' as const, ownerXml: null, principal: 'alice', timeoutSeconds: 60, createdAtMs: now, expiresAtMs: now + 60_000 };
  };
  try {
    await store.transaction(async (tx) => tx.insertLock(lock('durable')));
    // The log's file handle from now on fails its next fsync with EIO, as a dying disk would, and then succeeds.
    const handle = (store as unknown as { wal: { sync(): Promise<void>; close(): Promise<void> } }).wal;
    const realSync = handle.sync.bind(handle);
    let failures = 1;
    handle.sync = async () => {
      if (failures-- > 0) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      await realSync();
    };
    await assert.rejects(
      store.transaction(async (tx) => tx.insertLock(lock('lost'))),
      (e) => isVfsError(e, 'UNAVAILABLE') && /fsync of its write-ahead log failed/.test((e as Error).message),
    );
    // The next fsync would succeed, but this write would sit in the log after frames that may never have reached the disk.
    await assert.rejects(store.transaction(async (tx) => tx.insertLock(lock('after'))), (e) => isVfsError(e, 'UNAVAILABLE'));
    await assert.rejects(store.ping(), (e) => isVfsError(e, 'UNAVAILABLE'));
    assert.equal(failures, 0, 'no fsync was tried for the refused write');
    assert.equal((await store.getLock('durable'))?.token, 'durable', 'reads go on');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
