import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isVfsError } from '../../src/vfs/errors.js';
import type { MetadataStore, NewNode } from '../../src/vfs/metadata/store.js';
import { ROOT_ID } from '../../src/vfs/metadata/store.js';

export interface StoreFixture {
  store: MetadataStore;
  /** Drops whatever the fixture created (database, file). */
  cleanup(): Promise<void>;
}

let counter = 0;
function node(parentId: number, name: string, extra: Partial<NewNode> = {}): NewNode {
  const now = 1_700_000_000_000 + counter++;
  return {
    parentId,
    name,
    type: 'file',
    size: 0,
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeMs: now,
    ctimeMs: now,
    btimeMs: now,
    etag: `e${counter}`,
    blobKey: null,
    backend: null,
    instanceId: null,
    ...extra,
  };
}

/** A tree as a server of the version before migration 0003 (the usage totals) left it: id, parent, name, type, size. */
export const TREE_BEFORE_USAGE_TOTALS: ReadonlyArray<[number, number | null, string, 'file' | 'directory', number]> = [
  [ROOT_ID, null, '', 'directory', 0],
  [2, ROOT_ID, 'a', 'file', 1234],
  [3, ROOT_ID, 'd', 'directory', 4096],
  [4, 3, 'b', 'file', 5678],
];

/** A store migrated over that tree starts its total at the files' sum, and keeps it from then on. */
export async function assertUsageOfTreeBeforeTotals(store: MetadataStore): Promise<void> {
  assert.equal(await store.usedBytes(), 1234 + 5678);
  await store.removeTree(3);
  assert.equal(await store.usedBytes(), 1234, 'and keeps them from then on');
}

/**
 * The behaviour every MetadataStore engine must have. Each engine's test file
 * only opens a fresh store and calls this.
 */
export function metadataStoreContract(engine: string, open: () => Promise<StoreFixture>): void {
  describe(`MetadataStore contract: ${engine}`, () => {
    let fx: StoreFixture;
    let s: MetadataStore;
    before(async () => {
      fx = await open();
      s = fx.store;
      await s.migrate();
    });
    after(async () => {
      await s.close();
      await fx.cleanup();
    });

    test('the root directory exists after migrate, and migrate is idempotent', async () => {
      await s.migrate();
      const root = await s.lookup('/');
      assert.equal(root?.id, ROOT_ID);
      assert.equal(root?.type, 'directory');
      assert.equal(root?.parentId, null);
    });

    test('insert, lookup, resolve and get', async () => {
      const dir = await s.insert(node(ROOT_ID, 'docs', { type: 'directory', mode: 0o755 }));
      const file = await s.insert(node(dir.id, 'a.txt', { size: 5, blobKey: 'k1', backend: 'localfs', instanceId: 'n1' }));
      assert.deepEqual(await s.lookup('/docs/a.txt'), file);
      assert.deepEqual(await s.get(file.id), file);
      assert.deepEqual(await s.child(dir.id, 'a.txt'), file);
      assert.equal(await s.child(dir.id, 'missing'), null);
      const chain = await s.resolve('/docs/a.txt');
      assert.deepEqual(chain.map((n) => n.name), ['', 'docs', 'a.txt']);
      assert.deepEqual((await s.resolve('/docs/missing/x')).map((n) => n.name), ['', 'docs']);
      // A file stops the walk: nothing lives below a file.
      assert.deepEqual((await s.resolve('/docs/a.txt/x')).map((n) => n.name), ['', 'docs', 'a.txt']);
      assert.equal(await s.lookup('/docs/a.txt/x'), null);
      assert.equal(await s.lookup('/nope'), null);
    });

    test('a taken name is EXISTS, for insert and for move', async () => {
      const dir = await s.insert(node(ROOT_ID, 'uniq', { type: 'directory' }));
      await s.insert(node(dir.id, 'x'));
      const y = await s.insert(node(dir.id, 'y'));
      await assert.rejects(s.insert(node(dir.id, 'x')), (e) => isVfsError(e, 'EXISTS'));
      await assert.rejects(s.move(y.id, dir.id, 'x', Date.now()), (e) => isVfsError(e, 'EXISTS'));
    });

    test('names are byte-exact: no case folding, no Unicode normalisation', async () => {
      const dir = await s.insert(node(ROOT_ID, 'bytes', { type: 'directory' }));
      await s.insert(node(dir.id, 'café')); // precomposed
      await s.insert(node(dir.id, 'cafe\u0301')); // decomposed
      await s.insert(node(dir.id, 'Café'));
      assert.equal((await s.children(dir.id)).length, 3);
      assert.ok(await s.lookup('/bytes/cafe\u0301'));
    });

    test('children come in byte order and page with after/limit', async () => {
      const dir = await s.insert(node(ROOT_ID, 'paged', { type: 'directory' }));
      const names = ['b', 'a', 'B', 'é', 'a b', 'z', '_'];
      for (const n of names) await s.insert(node(dir.id, n));
      const sorted = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual((await s.children(dir.id)).map((n) => n.name), sorted);
      const first = await s.children(dir.id, { limit: 3 });
      const rest = await s.children(dir.id, { after: first[2]!.name });
      assert.deepEqual([...first, ...rest].map((n) => n.name), sorted);
      assert.equal(await s.hasChildren(dir.id), true);
      const empty = await s.insert(node(ROOT_ID, 'empty', { type: 'directory' }));
      assert.equal(await s.hasChildren(empty.id), false);
    });

    test('update changes only the given columns', async () => {
      const f = await s.insert(node(ROOT_ID, 'upd', { size: 1 }));
      const u = await s.update(f.id, { size: 9, etag: 'new', blobKey: 'b9', backend: 'localfs' });
      assert.equal(u.size, 9);
      assert.equal(u.etag, 'new');
      assert.equal(u.mode, f.mode);
      assert.equal(u.name, 'upd');
      await assert.rejects(s.update(999_999, { size: 1 }), (e) => isVfsError(e, 'NOT_FOUND'));
    });

    test('move re-parents a whole tree in one step', async () => {
      const a = await s.insert(node(ROOT_ID, 'mv-a', { type: 'directory' }));
      const b = await s.insert(node(ROOT_ID, 'mv-b', { type: 'directory' }));
      const sub = await s.insert(node(a.id, 'sub', { type: 'directory' }));
      await s.insert(node(sub.id, 'deep.txt'));
      await s.move(sub.id, b.id, 'renamed', Date.now());
      assert.ok(await s.lookup('/mv-b/renamed/deep.txt'));
      assert.equal(await s.lookup('/mv-a/sub'), null);
    });

    test('removeTree deletes the subtree with its properties and returns its blobs', async () => {
      const d = await s.insert(node(ROOT_ID, 'rm', { type: 'directory' }));
      const inner = await s.insert(node(d.id, 'inner', { type: 'directory' }));
      const f1 = await s.insert(node(d.id, 'f1', { size: 3, blobKey: 'blob-1', backend: 'localfs' }));
      await s.insert(node(inner.id, 'f2', { size: 4, blobKey: 'blob-2', backend: 's3' }));
      await s.insert(node(inner.id, 'empty'));
      await s.patchProperties(f1.id, [{ namespace: 'urn:x', name: 'p', value: '<p xmlns="urn:x">1</p>' }], []);
      assert.equal(await s.countTree(d.id, 100), 5);
      assert.equal(await s.countTree(d.id, 3), 3, 'counted up to the bound');
      const blobs = await s.removeTree(d.id);
      assert.deepEqual(blobs.map((b) => b.blobKey).sort(), ['blob-1', 'blob-2']);
      assert.equal(await s.lookup('/rm'), null);
      assert.equal(await s.get(f1.id), null);
      assert.deepEqual(await s.getProperties(f1.id), []);
    });

    test('dead properties: set, replace, remove, copy; namespaces kept apart', async () => {
      const f = await s.insert(node(ROOT_ID, 'props'));
      const g = await s.insert(node(ROOT_ID, 'props-copy'));
      await s.patchProperties(f.id, [
        { namespace: 'urn:a', name: 'x', value: 'one' },
        { namespace: 'urn:b', name: 'x', value: 'two' },
      ], []);
      await s.patchProperties(f.id, [{ namespace: 'urn:a', name: 'x', value: 'uno' }], [{ namespace: 'urn:b', name: 'x' }]);
      assert.deepEqual(await s.getProperties(f.id), [{ namespace: 'urn:a', name: 'x', value: 'uno' }]);
      await s.copyProperties(f.id, g.id);
      assert.deepEqual(await s.getProperties(g.id), [{ namespace: 'urn:a', name: 'x', value: 'uno' }]);
      const bare = await s.insert(node(ROOT_ID, 'props-none'));
      assert.deepEqual([...(await s.propertyHolders([f.id, g.id, bare.id, 999_999]))].sort((a, b) => a - b), [f.id, g.id]);
      assert.deepEqual([...(await s.propertyHolders([]))], []);
    });

    test('a failed transaction leaves nothing behind', async () => {
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.insert(node(ROOT_ID, 'tx-doomed'));
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await s.lookup('/tx-doomed'), null);
      const made = await s.transaction(async (tx) => tx.insert(node(ROOT_ID, 'tx-kept')));
      assert.deepEqual(await s.lookup('/tx-kept'), made);
    });

    test('concurrent creates of one name: exactly one wins', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => s.transaction(async (tx) => tx.insert(node(ROOT_ID, 'race')))),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isVfsError(r.reason, 'EXISTS'), String(r.reason));
    });

    test('locks: on the path, depth-infinity ancestors, descendants, expiry', async () => {
      const now = Date.now();
      const base = { scope: 'exclusive' as const, ownerXml: null, principal: 'alice', timeoutSeconds: 60, createdAtMs: now, expiresAtMs: now + 60_000 };
      await s.insertLock({ ...base, token: 'urn:uuid:l1', path: '/lk', depth: 'infinity' });
      await s.insertLock({ ...base, token: 'urn:uuid:l2', path: '/lk/a/b', depth: 0, scope: 'shared', ownerXml: '<D:owner xmlns:D="DAV:">me</D:owner>' });
      await s.insertLock({ ...base, token: 'urn:uuid:l3', path: '/lk-sibling', depth: 'infinity' });
      await s.insertLock({ ...base, token: 'urn:uuid:old', path: '/lk/old', depth: 0, expiresAtMs: now - 1 });
      const tokens = (ls: Array<{ token: string }>) => ls.map((l) => l.token).sort();
      assert.deepEqual(tokens(await s.locksAffecting('/lk/a', now, false)), ['urn:uuid:l1']);
      assert.deepEqual(tokens(await s.locksAffecting('/lk/a', now, true)), ['urn:uuid:l1', 'urn:uuid:l2']);
      assert.deepEqual(tokens(await s.locksAffecting('/lk/a/b', now, false)), ['urn:uuid:l1', 'urn:uuid:l2']);
      assert.deepEqual(tokens(await s.locksAffecting('/', now, true)), ['urn:uuid:l1', 'urn:uuid:l2', 'urn:uuid:l3']);
      assert.deepEqual(tokens(await s.locksAffecting('/lk/old', now, false)), ['urn:uuid:l1']);
      assert.equal((await s.getLock('urn:uuid:l2'))?.ownerXml, '<D:owner xmlns:D="DAV:">me</D:owner>');
      const refreshed = await s.refreshLock('urn:uuid:l2', 120, now + 120_000);
      assert.equal(refreshed?.timeoutSeconds, 120);
      assert.equal(await s.deleteExpiredLocks(now), 1);
      assert.equal(await s.deleteLocksUnder('/lk'), 2);
      assert.equal(await s.deleteLock('urn:uuid:l3'), true);
      assert.equal(await s.deleteLock('urn:uuid:l3'), false);
    });

    test('locks: a lock added inside a transaction is seen by its later checks', async () => {
      const now = Date.now();
      const lock = (token: string, path: string) => ({ token, path, depth: 0 as const, scope: 'exclusive' as const, ownerXml: null, principal: 'alice', timeoutSeconds: 60, createdAtMs: now, expiresAtMs: now + 60_000 });
      const seen = await s.transaction(async (tx) => {
        const before = await tx.locksAffecting('/mid-tx', now, false);
        await tx.insertLock(lock('urn:uuid:mid-1', '/mid-tx'));
        return { before: before.length, after: (await tx.locksAffecting('/mid-tx', now + 1, false)).map((l) => l.token) };
      });
      assert.deepEqual(seen, { before: 0, after: ['urn:uuid:mid-1'] });
      await s.deleteLock('urn:uuid:mid-1');
    });

    test('links: exactly one of many concurrent consumers wins', async () => {
      const now = Date.now();
      await s.insertLink({ id: 'link-1', path: '/a', createdBy: 'root', createdAtMs: now, expiresAtMs: now + 60_000, usedAtMs: null });
      await s.insertLink({ id: 'link-old', path: '/a', createdBy: 'root', createdAtMs: now - 10, expiresAtMs: now - 1, usedAtMs: null });
      const results = await Promise.all(Array.from({ length: 50 }, () => s.consumeLink('link-1', now)));
      assert.equal(results.filter((r) => r.status === 'success').length, 1);
      assert.equal(results.filter((r) => r.status === 'used').length, 49);
      assert.equal((await s.consumeLink('link-old', now)).status, 'expired');
      assert.equal((await s.consumeLink('missing', now)).status, 'not_found');
      assert.equal(await s.deleteExpiredLinks(now), 1);
    });

    test('instances register and heartbeat', async () => {
      await s.upsertInstance({ instanceId: 'n1', endpoint: 'http://a', heartbeatAtMs: 1, startedAtMs: 1 });
      await s.upsertInstance({ instanceId: 'n1', endpoint: 'http://b', heartbeatAtMs: 2, startedAtMs: 1 });
      const list = await s.listInstances();
      assert.deepEqual(list.find((i) => i.instanceId === 'n1'), { instanceId: 'n1', endpoint: 'http://b', heartbeatAtMs: 2, startedAtMs: 1 });
    });

    test('usedBytes and blobRefs see every file', { timeout: 30_000 }, async () => {
      const before = await s.usedBytes();
      await s.insert(node(ROOT_ID, 'sized', { size: 1234, blobKey: 'blob-sized', backend: 'localfs' }));
      assert.equal(await s.usedBytes(), before + 1234);
      assert.equal(await s.transaction((tx) => tx.usedBytes()), before + 1234, 'a transaction can sum too');
      const refs = [];
      for await (const r of s.blobRefs()) refs.push(r.blobKey);
      assert.ok(refs.includes('blob-sized'));
    });

    test('usedBytes follows files as they come, change size and go, trees included, and not what a transaction rolled back', { timeout: 30_000 }, async () => {
      const start = await s.usedBytes();
      const used = async () => (await s.usedBytes()) - start;
      const top = await s.insert(node(ROOT_ID, 'usage-top', { size: 1000 }));
      const dir = await s.insert(node(ROOT_ID, 'usage-dir', { type: 'directory', size: 4096 }));
      const sub = await s.insert(node(dir.id, 'sub', { type: 'directory' }));
      await s.insert(node(sub.id, 'deep', { size: 300 }));
      await s.insert(node(dir.id, 'shallow', { size: 200 }));
      await s.insert(node(dir.id, 'empty'));
      assert.equal(await used(), 1500, 'directories count nothing');
      await s.update(top.id, { size: 1700 });
      assert.equal(await used(), 2200, 'a file grown');
      await s.update(top.id, { mtimeMs: 1, etag: 'touched' });
      await s.move(dir.id, ROOT_ID, 'usage-dir-moved', 2);
      assert.equal(await used(), 2200, 'a touch and a move move no bytes');
      await assert.rejects(
        s.transaction(async (tx) => {
          await tx.insert(node(ROOT_ID, 'usage-doomed', { size: 5000 }));
          await tx.update(top.id, { size: 1 });
          assert.equal((await tx.usedBytes()) - start, 1 + 5000 + 500, 'seen inside the transaction');
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      assert.equal(await used(), 2200, 'nothing of a rolled-back transaction');
      await s.removeTree(dir.id);
      assert.equal(await used(), 1700, 'a tree removed with everything in it');
      await s.removeTree(top.id);
      assert.equal(await used(), 0);
    });

    test('inline blobs: put, get, delete, list; rolled back with their transaction', async () => {
      const data = Buffer.from([0, 1, 2, 255, 254, 0x7f]);
      await s.putInlineBlob('inline-a', data);
      assert.deepEqual(await s.getInlineBlob('inline-a'), data);
      assert.equal(await s.getInlineBlob('inline-missing'), null);
      await assert.rejects(s.transaction(async (tx) => {
        await tx.putInlineBlob('inline-doomed', Buffer.from('x'));
        throw new Error('boom');
      }));
      assert.equal(await s.getInlineBlob('inline-doomed'), null);
      await s.transaction((tx) => tx.putInlineBlob('inline-b', Buffer.alloc(0)));
      const listed = [];
      for await (const b of s.inlineBlobs()) listed.push(b);
      assert.deepEqual(listed.filter((b) => b.key.startsWith('inline-')), [{ key: 'inline-a', size: 6 }, { key: 'inline-b', size: 0 }]);
      assert.equal(await s.deleteInlineBlob('inline-a'), true);
      assert.equal(await s.deleteInlineBlob('inline-a'), false);
    });

    test('ping answers', async () => {
      await s.ping();
    });
  });
}
