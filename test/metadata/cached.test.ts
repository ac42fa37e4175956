import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CachedMetadataStore, type CacheEvent } from '../../src/vfs/metadata/cached.js';
import { RedisInvalidationBus } from '../../src/vfs/metadata/invalidation.js';
import { PostgresStore } from '../../src/vfs/metadata/postgres.js';
import { SqliteStore } from '../../src/vfs/metadata/sqlite.js';
import { ROOT_ID, type NewNode } from '../../src/vfs/metadata/store.js';
import { metadataStoreContract } from '../contracts/metadata-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { REDIS_ADDR, dropPrefix, requireRedis, uniquePrefix } from '../helpers/redis.js';

const bus = (prefix: string) => {
  const [host, port] = REDIS_ADDR.split(':');
  return new RedisInvalidationBus({ host: host!, port: Number(port), channel: `${prefix}invalidate`, epochKey: `${prefix}cache-epoch`, connectTimeoutMs: 5000 });
};

async function untilHealthy(b: RedisInvalidationBus): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!b.healthy()) {
    if (Date.now() > deadline) throw new Error('the invalidation bus did not subscribe within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// The cache must not change what the store answers.
metadataStoreContract('postgres behind the metadata cache', async () => {
  await requireRedis();
  const db = await createTestDatabase('cachedcontract');
  const ccPrefix = uniquePrefix('cc');
  const b = bus(ccPrefix);
  await untilHealthy(b);
  return {
    store: new CachedMetadataStore(new PostgresStore({ dsn: db.dsn }), { ttlMs: 60_000, maxEntries: 1000, bus: b }),
    cleanup: async () => {
      await db.drop();
      await dropPrefix(ccPrefix);
    },
  };
});

const dir = (parentId: number, name: string): NewNode => ({
  parentId, name, type: 'directory', size: 0, mode: 0o755, uid: 0, gid: 0, mtimeMs: 1, ctimeMs: 1, btimeMs: 1, etag: 'e', blobKey: null, backend: null, instanceId: null,
});

let db: TestDatabase;
let prefix: string;
let node1: CachedMetadataStore;
let node2: CachedMetadataStore;
const events: CacheEvent[] = [];
before(async () => {
  await requireRedis();
  db = await createTestDatabase('cache');
  prefix = uniquePrefix('cache');
  const [b1, b2] = [bus(prefix), bus(prefix)];
  // A long TTL, so only invalidation (not expiry) can make a change visible.
  node1 = new CachedMetadataStore(new PostgresStore({ dsn: db.dsn }), { ttlMs: 600_000, maxEntries: 1000, bus: b1 });
  node2 = new CachedMetadataStore(new PostgresStore({ dsn: db.dsn }), { ttlMs: 600_000, maxEntries: 1000, bus: b2, onEvent: (e) => events.push(e) });
  await node1.migrate();
  await Promise.all([untilHealthy(b1), untilHealthy(b2)]);
});
after(async () => {
  await node1.close();
  await node2.close();
  await db.drop();
  await dropPrefix(prefix);
});

test('a cached resolution is served from the cache', async () => {
  await node1.transaction((tx) => tx.insert(dir(ROOT_ID, 'hot')));
  // The insert's invalidation may still be in flight and stop the first result from being kept; the answer
  // is cached once no change is pending.
  let hit = false;
  for (let i = 0; i < 100 && !hit; i++) {
    events.length = 0;
    await node2.resolve('/hot');
    hit = events.includes('hit');
  }
  assert.ok(hit, 'a repeated resolution is eventually a cache hit');
});

test('a change committed on one node is seen by the next read on the other, every time', async () => {
  events.length = 0;
  for (let i = 0; i < 30; i++) {
    const name = `c${i}`;
    assert.equal(await node2.lookup(`/hot/${name}`), null); // cache the negative answer
    const hot = (await node2.lookup('/hot'))!;
    const made = await node1.transaction((tx) => tx.insert(dir(hot.id, name)));
    assert.equal((await node2.lookup(`/hot/${name}`))?.id, made.id, `create ${i} visible`);
    await node1.transaction((tx) => tx.update(made.id, { mode: 0o700 }));
    assert.equal((await node2.lookup(`/hot/${name}`))?.mode, 0o700, `update ${i} visible`);
  }
  assert.ok(events.includes('hit'), 'the cache was in use meanwhile');
});

test('a directory renamed on one node disappears under its old name on the other, subtree included', async () => {
  const a = await node1.transaction((tx) => tx.insert(dir(ROOT_ID, 'ren-a')));
  const deep = await node1.transaction((tx) => tx.insert(dir(a.id, 'deep')));
  assert.equal((await node2.lookup('/ren-a/deep'))?.id, deep.id);
  await node1.transaction((tx) => tx.move(a.id, ROOT_ID, 'ren-b', 2));
  assert.equal(await node2.lookup('/ren-a/deep'), null);
  assert.equal((await node2.lookup('/ren-b/deep'))?.id, deep.id);
  await node1.transaction((tx) => tx.removeTree(a.id));
  assert.equal(await node2.lookup('/ren-b/deep'), null);
});

test('the cache is bounded by max_entries', async () => {
  const small = new CachedMetadataStore(new PostgresStore({ dsn: db.dsn }), { ttlMs: 600_000, maxEntries: 3 });
  try {
    for (const p of ['/a', '/b', '/c', '/d', '/e']) await small.resolve(p);
    assert.equal(small.size, 3);
  } finally {
    await small.close();
  }
});

test('a full cache evicts the least recently used paths and keeps its id index to the paths it holds, down to one entry', async () => {
  const inner = new SqliteStore(':memory:');
  try {
    const top = await inner.transaction((tx) => tx.insert(dir(ROOT_ID, 'lru')));
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    await inner.transaction(async (tx) => {
      for (const name of names) await tx.insert(dir(top.id, name));
    });
    const paths = [...names.map((n) => `/lru/${n}`), '/lru', '/lru/a/missing', '/'];
    for (const maxEntries of [1, 2, 3, 5]) {
      const events: CacheEvent[] = [];
      const store = new CachedMetadataStore(inner, { ttlMs: 600_000, maxEntries, onEvent: (e) => events.push(e) });
      const internals = store as unknown as {
        entries: { keys(): Iterable<string>; get(p: string): { ids: number[] } | undefined };
        byId: Map<number, { paths: Set<string> }>;
        negatives: Map<number, Set<string>>;
        ownPaths: Map<number, string>;
      };
      for (let round = 0; round < 3; round++) {
        for (const p of paths) {
          const chain = await store.resolve(p);
          assert.deepEqual(chain.map((n) => n.id), (await inner.resolve(p)).map((n) => n.id), `${p} with max_entries ${maxEntries}`);
          assert.ok(store.size <= maxEntries);
          // Every index slot names cached paths only, and every cached path is in the slot of each node on its chain.
          const held = new Set(internals.entries.keys());
          for (const [id, slot] of internals.byId) for (const q of slot.paths) assert.ok(held.has(q) && internals.entries.get(q)!.ids.includes(id));
          for (const q of held) for (const id of internals.entries.get(q)!.ids) assert.ok(internals.byId.get(id)?.paths.has(q));
          // Negative entries are indexed by the last node their walk reached, and only they are.
          for (const [last, negatives] of internals.negatives) for (const q of negatives) assert.ok(held.has(q) && internals.entries.get(q)!.ids.at(-1) === last);
          for (const q of held) if (internals.entries.get(q)!.ids.length < (q === '/' ? 1 : q.split('/').length)) assert.ok(internals.negatives.get(internals.entries.get(q)!.ids.at(-1)!)?.has(q));
          // Positive entries are indexed by the node they end at, and only they are.
          for (const [last, q] of internals.ownPaths) assert.ok(held.has(q) && internals.entries.get(q)!.ids.at(-1) === last);
          for (const q of held) if (internals.entries.get(q)!.ids.length === (q === '/' ? 1 : q.split('/').length)) assert.equal(internals.ownPaths.get(internals.entries.get(q)!.ids.at(-1)!), q);
        }
      }
      assert.ok(events.includes('eviction'));
      // A path in use stays while others come and go.
      if (maxEntries >= 3) {
        for (const p of ['/lru/b', '/lru/c', '/lru/d', '/lru/e']) {
          await store.resolve('/lru/a');
          await store.resolve(p);
        }
        events.length = 0;
        await store.resolve('/lru/a');
        assert.deepEqual(events, ['hit']);
      }
    }
  } finally {
    await inner.close();
  }
});

/** A store that records what it is asked: full resolutions, and single-name lookups below a cached directory. */
function countingStore(inner: SqliteStore) {
  const asked = { resolved: [] as string[], children: [] as string[] };
  const store = Object.assign(Object.create(inner) as SqliteStore, {
    resolve: (p: string) => (asked.resolved.push(p), inner.resolve(p)),
    child: (id: number, name: string) => (asked.children.push(name), inner.child(id, name)),
  });
  return { store, asked, reset: () => ((asked.resolved.length = 0), (asked.children.length = 0)) };
}

test('with applyOwnUpdates a committed create keeps the directory\'s cached paths, with its new record, and caches what it resolved and created; negative entries, moves and failures still drop', async () => {
  const inner = new SqliteStore(':memory:');
  const { store: counting, asked, reset } = countingStore(inner);
  const store = new CachedMetadataStore(counting, { ttlMs: 600_000, maxEntries: 100, applyOwnUpdates: true });
  try {
    const d = await store.transaction((tx) => tx.insert(dir(ROOT_ID, 'own')));
    const a = await store.transaction((tx) => tx.insert(dir(d.id, 'a')));
    assert.equal((await store.lookup('/own/a'))?.id, a.id);
    assert.equal(await store.lookup('/own/b'), null, 'a negative entry');
    // A create in /own, as the VFS does it: the new row and the directory's new mtime, in one transaction.
    const b = await store.transaction(async (tx) => {
      const node = await tx.insert(dir(d.id, 'b'));
      await tx.update(d.id, { mtimeMs: 1234, etag: 'own-2' });
      return node;
    });
    reset();
    const chain = await store.resolve('/own/a');
    assert.deepEqual([chain[1]!.mtimeMs, chain[1]!.etag], [1234, 'own-2'], 'with the directory as committed');
    assert.equal((await store.lookup('/own'))?.etag, 'own-2');
    assert.equal((await store.lookup('/own/b'))?.id, b.id, 'the negative entry went');
    assert.deepEqual(asked, { resolved: [], children: [] }, '/own/a is still cached, and the new /own/b is cached with its record');
    // A node created and changed in one transaction is cached as committed; one created and removed is not cached.
    const c = await store.transaction(async (tx) => {
      const node = await tx.insert(dir(d.id, 'c'));
      await tx.update(node.id, { mode: 0o700 });
      const gone = await tx.insert(dir(d.id, 'gone'));
      await tx.removeTree(gone.id);
      return node;
    });
    reset();
    assert.equal((await store.lookup('/own/c'))?.mode, 0o700);
    assert.deepEqual(asked, { resolved: [], children: [] });
    assert.equal(await store.lookup('/own/gone'), null);
    assert.equal(asked.children.length + asked.resolved.length, 1, 'asked the store about /own/gone');
    // Created in a directory that is not cached: nothing is cached, the store is asked.
    const deep = await store.transaction(async (tx) => tx.insert(dir(c.id, 'deep')));
    store.clear();
    await store.transaction(async (tx) => tx.insert(dir(deep.id, 'deeper')));
    reset();
    assert.ok(await store.lookup('/own/c/deep/deeper'));
    assert.deepEqual(asked.resolved, ['/own/c/deep/deeper']);
    // A create as the VFS does it, resolving the path inside the transaction: the parent it found is cached as
    // committed, and the new node below it.
    store.clear();
    const fresh = await store.transaction(async (tx) => {
      const chain = await tx.resolve('/own/c/deep/fresh');
      const node = await tx.insert(dir(chain.at(-1)!.id, 'fresh'));
      await tx.update(deep.id, { mtimeMs: 777 });
      return node;
    });
    reset();
    assert.equal((await store.lookup('/own/c/deep'))?.mtimeMs, 777);
    assert.equal((await store.lookup('/own/c/deep/fresh'))?.id, fresh.id);
    assert.deepEqual(asked, { resolved: [], children: [] });
    // What a failed transaction resolved is not cached.
    store.clear();
    await assert.rejects(store.transaction(async (tx) => {
      await tx.resolve('/own/c');
      throw new Error('changed my mind');
    }));
    reset();
    await store.lookup('/own/c');
    assert.deepEqual(asked.resolved, ['/own/c']);
    // A move drops the paths through the moved node; the destination's negative entries go too.
    assert.equal(await store.lookup('/own/b/moved'), null);
    await store.transaction((tx) => tx.move(a.id, b.id, 'moved', 5));
    assert.equal(await store.lookup('/own/a'), null);
    assert.equal((await store.lookup('/own/b/moved'))?.id, a.id);
    // A failed transaction drops what it touched, whatever happened to it.
    await store.lookup('/own/b/moved');
    await assert.rejects(store.transaction(async (tx) => {
      await tx.update(a.id, { mtimeMs: 99 });
      throw new Error('changed my mind');
    }));
    reset();
    assert.notEqual((await store.lookup('/own/b/moved'))?.mtimeMs, 99);
    assert.ok(asked.resolved.length + asked.children.length > 0, 'asked the store again');
  } finally {
    await store.close();
  }
});

/** Resolves until node2 answers from its cache, so the entry is certainly there. */
async function cachedOnNode2(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    events.length = 0;
    await node2.resolve(path);
    if (events.includes('hit')) return;
  }
  throw new Error(`${path} never became a cache hit on node 2`);
}

/** The subscriber connection of a bus, to hold back its messages the way a busy event loop or network would. */
const subscriberSocket = (store: CachedMetadataStore) =>
  ((store as unknown as { options: { bus: { sub: { stream: NodeJS.ReadableStream } } } }).options.bus.sub.stream);

test('an invalidation still in flight does not let a stale entry be served', async () => {
  const d = await node1.transaction((tx) => tx.insert(dir(ROOT_ID, 'inflight')));
  await cachedOnNode2('/inflight');
  const socket = subscriberSocket(node2);
  socket.pause();
  try {
    await node1.transaction((tx) => tx.update(d.id, { mode: 0o711 }));
    // node2 has not seen the message; the change counter tells it so, and it reads the database.
    assert.equal((await node2.lookup('/inflight'))?.mode, 0o711);
  } finally {
    socket.resume();
  }
});

test('after Redis loses its counter (restart without persistence) caches still do not go stale', async () => {
  const d = await node1.transaction((tx) => tx.insert(dir(ROOT_ID, 'reset')));
  // Both nodes reconnect to a Redis whose counter is gone, as after a restart.
  const [host, port] = REDIS_ADDR.split(':');
  const { Redis } = await import('ioredis');
  const admin = new Redis({ host, port: Number(port) });
  try {
    await admin.del(`${prefix}cache-epoch`);
    await admin.client('KILL', 'TYPE', 'pubsub');
  } finally {
    admin.disconnect();
  }
  const healthyAgain = async (s: CachedMetadataStore) => {
    const b = (s as unknown as { options: { bus: RedisInvalidationBus } }).options.bus;
    await new Promise((r) => setTimeout(r, 50));
    await untilHealthy(b);
  };
  await Promise.all([healthyAgain(node1), healthyAgain(node2)]);
  await cachedOnNode2('/reset');
  const socket = subscriberSocket(node2);
  socket.pause();
  try {
    await node1.transaction((tx) => tx.update(d.id, { mode: 0o701 }));
    assert.equal((await node2.lookup('/reset'))?.mode, 0o701);
  } finally {
    socket.resume();
  }
});

test('paths through one directory share its record; a newer version of it replaces the entries holding the old', async () => {
  const inner = new SqliteStore(':memory:');
  const store = new CachedMetadataStore(inner, { ttlMs: 600_000, maxEntries: 100 });
  try {
    const shared = await store.transaction((tx) => tx.insert(dir(ROOT_ID, 'shared')));
    await store.transaction(async (tx) => {
      for (const name of ['a', 'b', 'c']) await tx.insert(dir(shared.id, name));
    });
    const [a, b] = [await store.resolve('/shared/a'), await store.resolve('/shared/b')];
    assert.equal(a[1], b[1], 'one record object for /shared on both chains');
    assert.equal(a[0], b[0], 'and one for the root');
    // A change this cache was not told about (it went to the store directly): the next resolution
    // brings the newer /shared, and the entries holding the older one are dropped, not kept beside it.
    await inner.transaction((tx) => tx.update(shared.id, { mtimeMs: 2 }));
    // (A path whose parent is not cached, so the whole chain comes from the store.)
    const deep = await store.resolve('/shared/c/missing');
    assert.equal(deep[1]!.mtimeMs, 2);
    assert.equal(store.size, 1, 'only the new resolution is left');
  } finally {
    await store.close();
  }
});

test('a miss in a cached directory asks the store for the last name only, and still sees changes', async () => {
  const inner = new SqliteStore(':memory:');
  const { store: counting, asked } = countingStore(inner);
  const resolved = asked.resolved;
  const store = new CachedMetadataStore(counting, { ttlMs: 600_000, maxEntries: 100 });
  try {
    const d = await store.transaction((tx) => tx.insert(dir(ROOT_ID, 'd')));
    await store.transaction(async (tx) => {
      for (const name of ['x', 'y']) await tx.insert(dir(d.id, name));
    });
    await store.resolve('/d/x');
    assert.deepEqual(resolved, ['/d/x']);
    assert.deepEqual((await store.resolve('/d/y')).map((n) => n.name), ['', 'd', 'y']);
    assert.deepEqual((await store.resolve('/d/none')).map((n) => n.name), ['', 'd'], 'a missing name stops the chain at the directory');
    assert.deepEqual(resolved, ['/d/x'], 'the two later misses went through the cached /d');
    // A change to the directory drops its entry: the next miss resolves in full again.
    await store.transaction((tx) => tx.insert(dir(d.id, 'z')));
    assert.deepEqual((await store.resolve('/d/z')).map((n) => n.name), ['', 'd', 'z']);
    assert.deepEqual(resolved, ['/d/x', '/d/z']);
  } finally {
    await store.close();
  }
});

test('with renewOnHit an entry in use stays cached past its TTL; an unused one expires', async () => {
  let clock = 0;
  const inner = new SqliteStore(':memory:');
  const events: CacheEvent[] = [];
  const store = new CachedMetadataStore(inner, { ttlMs: 100, maxEntries: 100, renewOnHit: true, now: () => clock, onEvent: (e) => events.push(e) });
  try {
    await store.transaction((tx) => tx.insert(dir(ROOT_ID, 'hot')));
    await store.resolve('/hot');
    for (let i = 0; i < 5; i++) {
      clock += 60;
      events.length = 0;
      await store.resolve('/hot');
      assert.deepEqual(events, ['hit'], `a lookup every 60 ms keeps a 100 ms entry (at ${clock} ms)`);
    }
    clock += 150;
    events.length = 0;
    await store.resolve('/hot');
    assert.deepEqual(events, ['miss'], 'unused for longer than the TTL: expired');
  } finally {
    await store.close();
  }
});
