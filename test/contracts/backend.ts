import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../../src/vfs/backends/backend.js';

export interface BackendFixture {
  backend: Backend;
  cleanup(): Promise<void>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function keys(backend: Backend): Promise<string[]> {
  const out: string[] = [];
  for await (const b of backend.list()) out.push(b.key);
  return out.sort();
}

/** A body that sends `good` bytes and then fails, like a client that disconnects. */
function failingBody(good: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(good);
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

/** What every content backend must do; each engine's test file only builds the backend. */
export function backendContract(engine: string, open: () => Promise<BackendFixture>): void {
  describe(`Backend contract: ${engine}`, () => {
    let fx: BackendFixture;
    let b: Backend;
    before(async () => {
      fx = await open();
      b = fx.backend;
    });
    after(async () => {
      await b.close();
      await fx.cleanup();
    });

    test('write then read back byte-exact, whole and in ranges', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const stored = await b.write(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      assert.equal(stored.size, data.length);
      assert.ok((await readAll(await b.read(stored.key))).equals(data));
      assert.ok((await readAll(await b.read(stored.key, { start: 0, end: 0 }))).equals(data.subarray(0, 1)));
      assert.ok((await readAll(await b.read(stored.key, { start: 1_000_000, end: 2_000_000 }))).equals(data.subarray(1_000_000, 2_000_001)));
      assert.ok((await readAll(await b.read(stored.key, { start: data.length - 5, end: data.length - 1 }))).equals(data.subarray(data.length - 5)));
      assert.equal((await b.stat(stored.key))?.size, data.length);
    });

    test('an empty body is a valid blob', async () => {
      const stored = await b.write(Readable.from([]));
      assert.equal(stored.size, 0);
      assert.equal((await b.stat(stored.key))?.size, 0);
    });

    test('copy makes an independent blob', async () => {
      const data = Buffer.from('copy me');
      const src = await b.write(Readable.from([data]));
      const copy = await b.copy(src.key);
      assert.notEqual(copy.key, src.key);
      await b.delete(src.key);
      assert.ok((await readAll(await b.read(copy.key))).equals(data));
    });

    test('delete removes, and deleting twice is fine', async () => {
      const stored = await b.write(Readable.from([Buffer.from('bye')]));
      await b.delete(stored.key);
      await b.delete(stored.key);
      assert.equal(await b.stat(stored.key), null);
    });

    test('a body that fails midway leaves no blob', async () => {
      const beforeKeys = await keys(b);
      await assert.rejects(b.write(failingBody(randomBytes(256 * 1024))));
      assert.deepEqual(await keys(b), beforeKeys);
    });

    test('a body shorter or longer than declared is refused and leaves no blob', async () => {
      const beforeKeys = await keys(b);
      await assert.rejects(b.write(Readable.from([Buffer.alloc(10)]), { expectedSize: 11 }));
      await assert.rejects(b.write(Readable.from([Buffer.alloc(12)]), { expectedSize: 11 }));
      assert.deepEqual(await keys(b), beforeKeys);
      const ok = await b.write(Readable.from([Buffer.alloc(11)]), { expectedSize: 11 });
      assert.equal(ok.size, 11);
    });

    test('an aborted write leaves no blob', async () => {
      const beforeKeys = await keys(b);
      const controller = new AbortController();
      const body = new Readable({ read() {} });
      body.push(randomBytes(64 * 1024));
      const pending = b.write(body, { signal: controller.signal });
      setImmediate(() => controller.abort());
      await assert.rejects(pending);
      assert.deepEqual(await keys(b), beforeKeys);
    });

    test('list reports what was written', async () => {
      const stored = await b.write(Readable.from([Buffer.from('listed')]));
      const all = [];
      for await (const info of b.list()) all.push(info);
      const mine = all.find((i) => i.key === stored.key);
      assert.equal(mine?.size, 6);
    });

    test('large streamed write keeps its hash', async () => {
      const hash = createHash('sha256');
      let left = 64;
      const body = new Readable({
        read() {
          if (left-- === 0) return void this.push(null);
          const chunk = randomBytes(256 * 1024);
          hash.update(chunk);
          this.push(chunk);
        },
      });
      const stored = await b.write(body);
      const back = createHash('sha256');
      for await (const c of await b.read(stored.key)) back.update(c as Buffer);
      assert.equal(back.digest('hex'), hash.digest('hex'));
    });

    test('ping answers', async () => {
      await b.ping();
    });
  });
}
