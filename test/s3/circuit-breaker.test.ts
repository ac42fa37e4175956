import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreaker } from '../../src/vfs/backends/circuit-breaker.js';
import { VfsError } from '../../src/vfs/errors.js';

const outage = () => Promise.reject(new Error('connect ECONNREFUSED'));
const isOutage = (err: unknown) => !(err instanceof VfsError) && (err as Error).message.startsWith('connect');

test('circuit breaker: opens after the threshold, fails fast with retryAfter, probes once, closes on success', async () => {
  let now = 1_000_000;
  const breaker = new CircuitBreaker({ name: 'S3 test', failureThreshold: 3, cooldownMs: 10_000, now: () => now });
  let calls = 0;
  const counted = (fn: () => Promise<unknown>) => () => {
    calls++;
    return fn();
  };

  for (let i = 0; i < 3; i++) {
    await assert.rejects(breaker.run(counted(outage), isOutage), (err: VfsError) => err.code === 'UNAVAILABLE' && err.details.retryAfter !== undefined);
  }
  assert.equal(breaker.status, 'open');
  assert.equal(calls, 3);

  now += 4_000;
  await assert.rejects(breaker.run(counted(() => Promise.resolve('never')), isOutage), (err: VfsError) => err.code === 'UNAVAILABLE' && err.details.retryAfter === 6);
  assert.equal(calls, 3, 'an open circuit does not call the dependency');

  now += 6_000;
  let releaseProbe!: (v: string) => void;
  const probe = breaker.run(counted(() => new Promise<string>((r) => (releaseProbe = r))), isOutage);
  assert.equal(breaker.status, 'half-open');
  await assert.rejects(breaker.run(counted(() => Promise.resolve('x')), isOutage), /UNAVAILABLE|unreachable/);
  assert.equal(calls, 4, 'only one probe at a time');
  releaseProbe('back');
  assert.equal(await probe, 'back');
  assert.equal(breaker.status, 'closed');
  assert.equal(await breaker.run(() => Promise.resolve(42), isOutage), 42);
});

test('circuit breaker: a failed probe reopens at once; non-outage errors do not count', async () => {
  let now = 0;
  const breaker = new CircuitBreaker({ name: 'S3 test', failureThreshold: 2, cooldownMs: 1_000, now: () => now });
  const notFound = () => Promise.reject(Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' }));
  for (let i = 0; i < 5; i++) await assert.rejects(breaker.run(notFound, isOutage), /NoSuchKey/);
  assert.equal(breaker.status, 'closed', 'answers about the request are not outages');

  await assert.rejects(breaker.run(outage, isOutage));
  await assert.rejects(breaker.run(outage, isOutage));
  assert.equal(breaker.status, 'open');
  now += 1_000;
  await assert.rejects(breaker.run(outage, isOutage), (err: VfsError) => err.code === 'UNAVAILABLE');
  assert.equal(breaker.status, 'open', 'the failed probe reopened the circuit');
});
