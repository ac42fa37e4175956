import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { isVfsError } from '../../src/vfs/errors.js';
import { lockManagerContract } from '../contracts/lock-manager.js';
import { REDIS_ADDR, dropPrefix, redisLocks, requireRedis, uniquePrefix } from '../helpers/redis.js';

lockManagerContract('redis', async () => {
  await requireRedis();
  const prefix = uniquePrefix('contract');
  const a = redisLocks(prefix);
  const b = redisLocks(prefix);
  return {
    a,
    b,
    acquireTimeoutMs: 1500,
    cleanup: async () => {
      await a.close();
      await b.close();
      await dropPrefix(prefix);
    },
  };
});

const prefix = uniquePrefix('locks');
let raw: Redis;
before(async () => {
  await requireRedis();
  const [host, port] = REDIS_ADDR.split(':');
  raw = new Redis({ host, port: Number(port) });
});
after(async () => {
  raw.disconnect();
  await dropPrefix(prefix);
});

test('locks live at <key_prefix>lock:<path> and are gone after release', async () => {
  const m = redisLocks(prefix);
  try {
    const release = await m.acquire(['/docs/a.txt']);
    assert.ok(await raw.get(`${prefix}lock:/docs/a.txt`));
    await release();
    assert.equal(await raw.get(`${prefix}lock:/docs/a.txt`), null);
  } finally {
    await m.close();
  }
});

test('a lock held longer than its lease is refreshed: nobody else gets in', async () => {
  // Refreshed every third of a lease, so only an event-loop stall of two thirds of a lease could lose it.
  const leaseMs = 1500;
  const node1 = redisLocks(prefix, { lockTimeoutMs: leaseMs });
  const node2 = redisLocks(prefix, { lockTimeoutMs: leaseMs, acquireTimeoutMs: 4 * leaseMs, retryDelayMs: 10 });
  try {
    const release = await node1.acquire(['/long-upload']);
    // node2 keeps trying for four leases; without refresh it would get in after the first.
    await assert.rejects(node2.acquire(['/long-upload']), (e) => isVfsError(e, 'BUSY'));
    const ttl = await raw.pttl(`${prefix}lock:/long-upload`);
    assert.ok(ttl > 0, `the lease is still alive after ${4 * leaseMs} ms (pttl ${ttl})`);
    await release();
    await (await node2.acquire(['/long-upload']))();
  } finally {
    await node1.close();
    await node2.close();
  }
});

test('the lock of a crashed holder expires after its lease', async () => {
  // A holder that died: its key is there, with a lease, and nobody refreshes it.
  await raw.set(`${prefix}lock:/crashed`, 'dead-holder', 'PX', 800);
  const m = redisLocks(prefix, { acquireTimeoutMs: 10_000 });
  try {
    const release = await m.acquire(['/crashed']);
    assert.notEqual(await raw.get(`${prefix}lock:/crashed`), 'dead-holder');
    await release();
  } finally {
    await m.close();
  }
});

test('Redis unreachable: UNAVAILABLE with a Retry-After, not a hang', async () => {
  const m = redisLocks(prefix, { redisAddr: '127.0.0.1:1', connectTimeoutMs: 1000, acquireTimeoutMs: 60_000 });
  try {
    await assert.rejects(m.acquire(['/x']), (e) => isVfsError(e, 'UNAVAILABLE') && typeof e.details.retryAfter === 'number');
    await assert.rejects(m.ping(), (e) => isVfsError(e, 'UNAVAILABLE'));
  } finally {
    await m.close();
  }
});
