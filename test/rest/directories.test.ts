import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ROOT_PRINCIPAL } from '../../src/vfs/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Listing {
  path: string;
  type: string;
  count: number;
  items: Array<{ name: string; path: string; type: string }>;
  next_cursor?: string;
}

describe('REST /v1/directories', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    const ctx = { principal: ROOT_PRINCIPAL };
    const vfs = t.server.vfs;
    await vfs.mkdir(ctx, '/many');
    for (let i = 0; i < 2500; i++) await vfs.writeFile(ctx, `/many/f${String(i).padStart(5, '0')}`, Readable.from([]), { expectedSize: 0 });
    await vfs.mkdir(ctx, '/tree/a/b/c', { parents: true });
    await vfs.writeFile(ctx, '/tree/top.txt', Readable.from([Buffer.from('t')]));
    await vfs.writeFile(ctx, '/tree/a/b/c/deep.txt', Readable.from([Buffer.from('d')]));
  });
  after(() => t.close());

  const list = async (url: string) => {
    const res = await t.request('GET', url);
    assert.equal(res.status, 200, url);
    return (await res.json()) as Listing;
  };

  test('a listing has path, type, count and items', async () => {
    const l = await list('/v1/directories/tree');
    assert.equal(l.path, '/tree');
    assert.equal(l.type, 'directory');
    assert.deepEqual(l.items.map((i) => i.name), ['a', 'top.txt']);
    assert.equal(l.count, 2);
    assert.equal(l.next_cursor, undefined);
  });

  test('paging with limit and cursor visits every entry exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const l = await list(`/v1/directories/many?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...l.items.map((i) => i.name));
      cursor = l.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.equal(seen.length, 2500);
    assert.equal(new Set(seen).size, 2500);
    assert.deepEqual(seen, [...seen].sort());
  });

  test('recursive with max_depth', async () => {
    const all = await list('/v1/directories/tree?recursive=true');
    assert.deepEqual(all.items.map((i) => i.path), ['/tree/a', '/tree/a/b', '/tree/a/b/c', '/tree/a/b/c/deep.txt', '/tree/top.txt']);
    const two = await list('/v1/directories/tree?recursive=true&max_depth=2');
    assert.deepEqual(two.items.map((i) => i.path), ['/tree/a', '/tree/a/b', '/tree/top.txt']);
    const paged = await list('/v1/directories/tree?recursive=true&limit=2');
    assert.equal(paged.count, 2);
    const rest = await list(`/v1/directories/tree?recursive=true&cursor=${paged.next_cursor}`);
    assert.deepEqual([...paged.items, ...rest.items].map((i) => i.path), all.items.map((i) => i.path));
  });

  test('bad parameters are 400; a file is 409; a missing directory 404', async () => {
    for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'max_depth=x', 'recursive=maybe', 'cursor=%%%']) {
      const res = await t.request('GET', `/v1/directories/tree?${q}`);
      assert.equal(res.status, 400, q);
    }
    assert.equal((await t.request('GET', '/v1/directories/tree/top.txt')).status, 409);
    assert.equal((await t.request('GET', '/v1/directories/nope')).status, 404);
  });

  test('GET /v1/files/dir/ streams the whole directory as a JSON array', async () => {
    const res = await t.request('GET', '/v1/files/many/');
    const items = (await res.json()) as unknown[];
    assert.equal(items.length, 2500);
  });
});
