import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isVfsError } from '../../src/vfs/errors.js';
import { PostgresStore } from '../../src/vfs/metadata/postgres.js';
import { ROOT_ID, type NewNode } from '../../src/vfs/metadata/store.js';
import { createTestDatabase, terminateConnections, type TestDatabase } from '../helpers/postgres.js';

// What only a shared, concurrent database adds to the contract: several nodes migrating at once,
// moves racing on disjoint mutation locks, and a database that is not there.

const dir = (parentId: number, name: string): NewNode => ({
  parentId, name, type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtimeMs: 1, ctimeMs: 1, btimeMs: 1, etag: 'e', blobKey: null, backend: null, instanceId: null,
});

let db: TestDatabase;
let stores: PostgresStore[] = [];
before(async () => {
  db = await createTestDatabase('pgcluster');
  stores = Array.from({ length: 4 }, () => new PostgresStore({ dsn: db.dsn, maxOpenConns: 4 }));
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await db.drop();
});

test('four nodes migrating at once apply the schema once and agree on one root', async () => {
  await Promise.all(stores.map((s) => s.migrate()));
  for (const s of stores) assert.equal((await s.lookup('/'))?.id, ROOT_ID);
  const first = await stores[0]!.insert(dir(ROOT_ID, 'after-migrate'));
  assert.ok(first.id > ROOT_ID);
});

test('two crossing moves on different connections cannot make a cycle', async () => {
  const [s1, s2] = stores as [PostgresStore, PostgresStore];
  for (let round = 0; round < 10; round++) {
    const a = await s1.insert(dir(ROOT_ID, `cyc-a-${round}`));
    const b = await s1.insert(dir(ROOT_ID, `cyc-b-${round}`));
    const results = await Promise.allSettled([
      s1.transaction((tx) => tx.move(a.id, b.id, 'x', 2)),
      s2.transaction((tx) => tx.move(b.id, a.id, 'y', 2)),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: exactly one move wins`);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isVfsError(loser.reason, 'INVALID_ARGUMENT'), String(loser.reason));
  }
});

test('a BIGINT id comes back as a number', async () => {
  const n = await stores[0]!.insert(dir(ROOT_ID, 'numeric'));
  assert.equal(typeof n.id, 'number');
  assert.equal(typeof (await stores[1]!.get(n.id))?.mtimeMs, 'number');
});

test('an unreachable database is UNAVAILABLE with a Retry-After, quickly', async () => {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  const down = new PostgresStore({ dsn: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 2000 });
  try {
    await assert.rejects(down.lookup('/'), (e) => isVfsError(e, 'UNAVAILABLE') && typeof e.details.retryAfter === 'number');
    await assert.rejects(down.transaction((tx) => tx.lookup('/')), (e) => isVfsError(e, 'UNAVAILABLE'));
    await assert.rejects(down.ping(), (e) => isVfsError(e, 'UNAVAILABLE'));
  } finally {
    await down.close();
  }
});

test('concurrent "mkdir -p" of one parent from several connections: every transaction succeeds', async () => {
  const results = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) =>
      stores[i % stores.length]!.transaction(async (tx) => {
        const parent = (await tx.lookup('/shared-parent')) ?? (await tx.insert(dir(ROOT_ID, 'shared-parent')));
        return tx.insert(dir(parent.id, `child-${i}`));
      }),
    ),
  );
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  assert.deepEqual(failures, []);
  assert.equal((await stores[0]!.children((await stores[0]!.lookup('/shared-parent'))!.id)).length, 12);
});

test('a connection killed inside a transaction fails that transaction with UNAVAILABLE, and the pool goes on', async () => {
  const s = stores[0]!;
  await assert.rejects(
    s.transaction(async (tx) => {
      await tx.lookup('/');
      assert.equal(await terminateConnections(db.name, 'idle in transaction'), 1);
      // Let the termination notice reach the client while no query is running: an unhandled 'error' event
      // would crash the process here. (The pause only makes that case likely; the assertions hold either way.)
      await new Promise((r) => setTimeout(r, 200));
      await tx.lookup('/');
    }),
    (e) => isVfsError(e, 'UNAVAILABLE'),
  );
  assert.equal((await s.lookup('/'))?.id, ROOT_ID);
});
