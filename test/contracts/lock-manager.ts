import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isVfsError } from '../../src/vfs/errors.js';
import type { LockManager } from '../../src/vfs/locks/lock-manager.js';

export interface LockFixture {
  /** Two managers that must exclude each other (two nodes; for the local engine, the same instance twice). */
  a: LockManager;
  b: LockManager;
  /** The acquire timeout both were built with, ms. */
  acquireTimeoutMs: number;
  cleanup(): Promise<void>;
}

let unique = 0;
const key = (name: string) => `/contract/${process.pid}/${unique++}/${name}`;

/** What every LockManager engine must do; each engine's test file builds one and calls this. */
export function lockManagerContract(engine: string, open: () => Promise<LockFixture>): void {
  describe(`LockManager contract: ${engine}`, () => {
    let fx: LockFixture;
    before(async () => {
      fx = await open();
    });
    after(async () => {
      await fx.cleanup();
    });

    test('a held key excludes every other holder until released', async () => {
      const k = key('x');
      const order: string[] = [];
      const release = await fx.a.acquire([k]);
      const second = fx.b.acquire([k]).then((r) => {
        order.push('b acquired');
        return r;
      });
      // Give the waiter every chance to (wrongly) get in while the first holds the key.
      await new Promise((r) => setTimeout(r, Math.min(300, fx.acquireTimeoutMs / 4)));
      order.push('a releasing');
      await release();
      await (await second)();
      assert.deepEqual(order, ['a releasing', 'b acquired']);
    });

    test('contention longer than the acquire timeout is BUSY with a Retry-After', async () => {
      const k = key('busy');
      const release = await fx.a.acquire([k]);
      try {
        await assert.rejects(fx.b.acquire([k]), (e) => isVfsError(e, 'BUSY') && typeof e.details.retryAfter === 'number');
      } finally {
        await release();
      }
      await (await fx.b.acquire([k]))();
    });

    test('several keys in opposite orders never deadlock', async () => {
      const [k1, k2] = [key('p'), key('q')];
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const release = await (i % 2 ? fx.a : fx.b).acquire(i % 2 ? [k1, k2] : [k2, k1]);
          await release();
        }),
      );
    });

    test('release is idempotent and activeLocks counts what is held', async () => {
      const before = fx.a.activeLocks();
      const release = await fx.a.acquire([key('c1'), key('c2')]);
      assert.equal(fx.a.activeLocks(), before + 2);
      await release();
      await release();
      assert.equal(fx.a.activeLocks(), before);
    });

    test('ping answers', async () => {
      await fx.a.ping();
    });
  });
}
