import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isVfsError } from '../../src/vfs/errors.js';
import Database from 'better-sqlite3';
import { loadMigrations } from '../../src/vfs/metadata/migrations.js';
import { SqliteStore } from '../../src/vfs/metadata/sqlite.js';
import { assertUsageOfTreeBeforeTotals, metadataStoreContract, TREE_BEFORE_USAGE_TOTALS } from '../contracts/metadata-store.js';

const execFileAsync = promisify(execFile);

/** An exclusive lock on `/<token>`: a small write to commit. */
function lock(token: string) {
  const now = Date.now();
  return { token, path: `/${token}`, depth: 0 as const, scope: 'exclusive' as const, ownerXml: null, principal: 'alice', timeoutSeconds: 60, createdAtMs: now, expiresAtMs: now + 60_000 };
}

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
      (e) => isVfsError(e, 'UNAVAILABLE') && /fsync of its write-ahead log or database file failed/.test((e as Error).message),
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

test('locks and single-use links are durable when their writes resolve: each waits for a WAL fsync', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const store = new SqliteStore(path.join(dir, 'metadata.db'));
  try {
    await store.transaction(async (tx) => tx.insertLock(lock('first')));
    const handle = (store as unknown as { wal: { sync(): Promise<void> } }).wal;
    const realSync = handle.sync.bind(handle);
    let syncs = 0;
    handle.sync = async () => {
      await realSync();
      syncs++;
    };
    const synced = async (write: () => Promise<unknown>) => {
      const before = syncs;
      await write();
      return syncs > before;
    };
    const now = Date.now();
    assert.ok(await synced(() => store.insertLock(lock('taken'))), 'LOCK');
    assert.ok(await synced(() => store.refreshLock('taken', 120, now + 120_000)), 'lock refresh');
    assert.ok(await synced(() => store.deleteLock('taken')), 'UNLOCK');
    assert.ok(await synced(() => store.deleteLocksUnder('/first')), 'locks removed with their resource');
    assert.ok(await synced(() => store.insertLink({ id: 'link-1', path: '/f', createdBy: 'alice', createdAtMs: now, expiresAtMs: now + 60_000, usedAtMs: null })), 'link made');
    assert.ok(await synced(() => store.consumeLink('link-1', now + 1)), 'link used');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dataVersion changes after every commit of another process, and not after this store’s own', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const file = path.join(dir, 'metadata.db');
  const store = new SqliteStore(file);
  const writer = fileURLToPath(new URL('../helpers/sqlite-writer.ts', import.meta.url));
  try {
    let version = store.dataVersion();
    // Looking again with nothing committed anywhere: the same answer.
    assert.equal(store.dataVersion(), version);
    for (let round = 0; round < 3; round++) {
      await store.transaction(async (tx) => tx.insertLock(lock(`own-${round}`)));
      assert.equal(store.dataVersion(), version, `round ${round}: this store's own commit is not an outside change`);
      await execFileAsync(process.execPath, ['--import', 'tsx', writer, file, `other-${round}`]);
      const after = store.dataVersion();
      assert.notEqual(after, version, `round ${round}: the other process's commit is seen at the next look`);
      version = after;
      assert.equal(store.dataVersion(), version);
    }
    const tokens = (await store.locksAffecting('/', Date.now(), true)).map((l) => l.token).sort();
    assert.deepEqual(tokens, ['other-0', 'other-1', 'other-2', 'own-0', 'own-1', 'own-2']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dataVersion sees a second connection’s commits at once, however they interleave with its own', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const file = path.join(dir, 'metadata.db');
  const store = new SqliteStore(file);
  const other = new SqliteStore(file);
  try {
    let version = store.dataVersion();
    // Enough commits to pass the automatic checkpoint (1,000 pages) and restart the log, which rewrites the index.
    for (let i = 0; i < 1500; i++) {
      if (i % 3 === 0) {
        await store.transaction(async (tx) => tx.insertLock(lock(`own-${i}`)));
        assert.equal(store.dataVersion(), version, `commit ${i}: own`);
      } else {
        await other.transaction(async (tx) => tx.insertLock(lock(`other-${i}`)));
        const after = store.dataVersion();
        assert.notEqual(after, version, `commit ${i}: the other connection's`);
        version = after;
      }
    }
  } finally {
    await other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

interface CheckpointInternals {
  checkpoints: number;
  db: { pragma(source: string, options: { simple: true }): unknown };
  walIndex: { frames(): number | null };
  checkpointer: { database: { sync(): Promise<void>; close(): Promise<void> } | null };
}

/** A store in a directory of its own, with its checkpointing internals; the directory goes afterwards. */
async function withCheckpointingStore(run: (store: SqliteStore, internals: CheckpointInternals, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const file = path.join(dir, 'metadata.db');
  const store = new SqliteStore(file);
  try {
    await run(store, store as unknown as CheckpointInternals, file);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The database file's fsync at a checkpoint, replaced. */
function replaceDatabaseSync(internals: CheckpointInternals, sync: () => Promise<void>): void {
  internals.checkpointer.database = { sync, close: async () => {} };
}

const bigKey = (i: number) => `${String(i).padStart(12, '0')}${'0'.repeat(20)}`;

/** Each write adds 17 frames or so to the log: 64 KiB of content, one page per frame. */
function bigWrite(store: SqliteStore, i: number): Promise<void> {
  return store.putInlineBlob(bigKey(i), Buffer.alloc(64 * 1024, i % 256));
}

test('the log is checkpointed between batches, off the connection that commits, and then started afresh', async () => {
  await withCheckpointingStore(async (store, internals, file) => {
    let writes = 0;
    // SQLite's own checkpoint, which fsyncs on the event loop, is off.
    assert.equal(internals.db.pragma('wal_autocheckpoint', { simple: true }), 0);
    for (; internals.checkpoints < 3; writes++) {
      assert.ok(writes < 1000, `3 checkpoints within 1,000 writes of 64 KiB; ${internals.checkpoints} ran`);
      await bigWrite(store, writes);
    }
    // Without a restart after each checkpoint, the log would hold every frame written: over 3,000 of 4 KiB.
    const frameBytes = 4096 + 24;
    assert.ok(statSync(`${file}-wal`).size < 1100 * frameBytes, `log of ${statSync(`${file}-wal`).size} bytes after ${writes} writes`);
    // What was checkpointed reads back through another connection.
    const reader = new SqliteStore(file);
    try {
      for (const i of [0, writes - 1]) assert.equal((await reader.getInlineBlob(bigKey(i)))?.[0], i % 256);
    } finally {
      await reader.close();
    }
  });
});

test('until a checkpoint has fsynced the database file, no writer may start the log afresh over what it copied', async () => {
  let release = () => {};
  await withCheckpointingStore(async (store, internals) => {
    try {
      // The database file's fsync is held until the test lets it finish.
      let syncing = () => {};
      const syncStarted = new Promise<void>((resolve) => (syncing = resolve));
      const held = new Promise<void>((resolve) => (release = resolve));
      replaceDatabaseSync(internals, async () => {
        syncing();
        await held;
      });
      // A write queued while the checkpoint runs waits for it: the one that is waiting when the fsync starts is kept.
      let waiting: Promise<void> | null = null;
      for (let i = 0; !waiting; i++) {
        assert.ok(i < 1000, 'a checkpoint within 1,000 writes of 64 KiB');
        const write = bigWrite(store, i);
        if ((await Promise.race([write.then(() => 'written'), syncStarted.then(() => 'syncing')])) === 'syncing') waiting = write;
      }
      // Every frame is now in the database file, unsynced. A write outside the batches (it commits on its own)
      // must add to the log, not overwrite it from the start.
      const before = internals.walIndex.frames()!;
      await store.upsertInstance({ instanceId: 'a', endpoint: 'http://a', heartbeatAtMs: 1, startedAtMs: 1 });
      assert.ok(internals.walIndex.frames()! > before, `the log went from ${before} frames to ${internals.walIndex.frames()}`);
      release();
      // The batch that waited goes on once the checkpoint is over.
      await waiting;
    } finally {
      release();
    }
  });
});

test('a failed fsync of the database file at a checkpoint fails every write after it, and keeps the log whole', async () => {
  await withCheckpointingStore(async (store, internals) => {
    replaceDatabaseSync(internals, async () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    let i = 0;
    for (; ; i++) {
      assert.ok(i < 1000, 'a checkpoint within 1,000 writes of 64 KiB');
      const failed = await bigWrite(store, i).then(
        () => false,
        (e: unknown) => {
          assert.ok(isVfsError(e, 'UNAVAILABLE') && /database file failed/.test((e as Error).message), String(e));
          return true;
        },
      );
      if (failed) break;
    }
    assert.ok(i > 0, 'the writes before the checkpoint succeeded');
    await assert.rejects(store.ping(), (e) => isVfsError(e, 'UNAVAILABLE'));
    // Nothing may start the log afresh: its frames are the only synced copy of what the checkpoint copied.
    const before = internals.walIndex.frames()!;
    await store.upsertInstance({ instanceId: 'a', endpoint: 'http://a', heartbeatAtMs: 1, startedAtMs: 1 });
    assert.ok(internals.walIndex.frames()! > before);
    assert.equal((await store.getInlineBlob(bigKey(0)))?.length, 64 * 1024, 'reads go on');
  });
});

test('writes that commit on their own (the instance heartbeat) are checkpointed too, with no batch to trigger it', async () => {
  await withCheckpointingStore(async (store, internals) => {
    // Each heartbeat rewrites one row: a frame or so. A server that only reads has nothing else to start a checkpoint;
    // without one, the log would only grow. Once one has copied the log, a later heartbeat starts it afresh.
    let most = 0;
    for (let beats = 0; ; beats++) {
      const frames = internals.walIndex.frames()!;
      if (frames < most) break;
      most = frames;
      assert.ok(beats < 5000, `the log restarted within 5,000 heartbeats; it holds ${frames} frames after ${internals.checkpoints} checkpoints`);
      await store.upsertInstance({ instanceId: 'a', endpoint: 'http://a', heartbeatAtMs: beats, startedAtMs: 1 });
      // Heartbeats come seconds apart: a checkpoint one of them started is over before the next.
      await (store as unknown as { draining: Promise<void> | null }).draining;
    }
    assert.ok(internals.checkpoints >= 1);
  });
});

test('a store made before the usage totals existed starts them at the sum of its files', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-sqlite-'));
  const file = path.join(dir, 'metadata.db');
  try {
    // The schema as a server of the version before migration 0003 left it, with files in it.
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_ms INTEGER NOT NULL)');
    for (const m of loadMigrations('sqlite').filter((m) => m.version < '0003')) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)').run(m.version, 0);
    }
    const insert = old.prepare(`INSERT INTO nodes (id, parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag) VALUES (?, ?, ?, ?, ?, 420, 0, 0, 0, 0, 0, 'e')`);
    for (const row of TREE_BEFORE_USAGE_TOTALS) insert.run(...row);
    old.close();
    const store = new SqliteStore(file);
    try {
      await assertUsageOfTreeBeforeTotals(store);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
