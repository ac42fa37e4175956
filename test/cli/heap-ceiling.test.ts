import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import { collectYoungGeneration, HeapCeiling, noteFreshBuffers } from '../../src/heap-ceiling.js';

test('heap ceiling: a heap over the ceiling is collected, and the next ceiling follows what survived', () => {
  const ceiling = new HeapCeiling({ floorBytes: 1024 * 1024, growth: 1.5, largestManagedBytes: 1024 * 1024 * 1024 });
  // Garbage that only a collection removes: 20 MB of objects, dropped at once.
  let garbage: object[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, padding: 'x'.repeat(64) + i }));
  assert.ok(garbage.length > 0);
  garbage = null;
  const first = ceiling.check();
  assert.ok(first, 'the heap is far over a 1 MiB floor');
  assert.ok(first.afterBytes < first.beforeBytes, `collected: ${first.beforeBytes} → ${first.afterBytes} bytes`);
  // Right after a collection the heap is within 1.5× of what survived it: nothing to do.
  assert.equal(ceiling.check(), null);
});

test('heap ceiling: a live heap above the largest it manages is left to V8', () => {
  const ceiling = new HeapCeiling({ floorBytes: 1024 * 1024, growth: 1.01, largestManagedBytes: 1024 * 1024 });
  assert.ok(ceiling.check(), 'the first check collects (the test process holds more than 1 MiB)');
  const retained = Array.from({ length: 100_000 }, (_, i) => ({ i, padding: 'y'.repeat(64) + i }));
  // The heap grew far past 1.01× what survived, but that was more than 1 MiB: the ceiling has stepped aside.
  assert.equal(ceiling.check(), null);
  assert.equal(retained.length, 100_000);
});

/** How many scavenges V8 reports after `run`; five calls in a row, with nothing allocated between them, are more than V8 would run of its own meanwhile. */
async function scavengesDuring(run: () => void): Promise<number> {
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as unknown as { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    run();
    // The entries are delivered after the current task.
    const deadline = Date.now() + 10_000;
    while (minor < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return minor;
  } finally {
    observer.disconnect();
  }
}

test('collectYoungGeneration runs a scavenge each time it is called', async () => {
  const minor = await scavengesDuring(() => {
    for (let i = 0; i < 5; i++) collectYoungGeneration();
  });
  assert.ok(minor >= 5, `${minor} scavenges seen`);
});

test('noteFreshBuffers runs a scavenge every 16 MiB of Buffers, counted over calls', async () => {
  const minor = await scavengesDuring(() => {
    for (let i = 0; i < 10; i++) noteFreshBuffers(8 * 1024 * 1024);
  });
  assert.ok(minor >= 5, `${minor} scavenges seen`);
});
