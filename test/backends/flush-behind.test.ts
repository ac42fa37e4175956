import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { FlushBehind } from '../../src/vfs/backends/flush-behind.js';

const chunks = (count: number, size: number) => Readable.from(Array.from({ length: count }, () => Buffer.alloc(size, 1)));
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

test('starts a sync every interval, never two at once, and ends only after the last one settles', async () => {
  let running = 0;
  let most = 0;
  let calls = 0;
  let settledBeforeEnd = true;
  const pending = new Set<Promise<void>>();
  const handle = {
    datasync: () => {
      calls++;
      running++;
      most = Math.max(most, running);
      const p = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => void running--);
      pending.add(p);
      return p;
    },
  } as unknown as FileHandle;
  const through = new FlushBehind(handle, 1000);
  through.on('end', () => (settledBeforeEnd = running === 0));
  await pipeline(chunks(50, 100), through, sink());
  assert.ok(calls >= 1, 'at least one sync was started for 5,000 bytes at a 1,000-byte interval');
  assert.equal(most, 1);
  assert.ok(settledBeforeEnd, 'the stream ended with no sync outstanding');
});

test('a failed sync fails the stream', async () => {
  const handle = { datasync: () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) } as unknown as FileHandle;
  await assert.rejects(pipeline(chunks(20, 100), new FlushBehind(handle, 100), sink()), /EIO/);
});

test('calls onInterval every interval bytes, also while a sync is still running', async () => {
  // A sync that never finishes during the stream: onInterval keeps its own count.
  const handle = { datasync: () => new Promise<void>((resolve) => setTimeout(resolve, 50)) } as unknown as FileHandle;
  let calls = 0;
  await pipeline(chunks(50, 100), new FlushBehind(handle, 1000, () => calls++), sink());
  assert.equal(calls, 5);
});
