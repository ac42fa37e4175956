import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { LocalFsBackend } from '../../src/vfs/backends/localfs.js';
import { backendContract } from '../contracts/backend.js';

backendContract('localfs', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-localfs-'));
  return { backend: new LocalFsBackend(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

test('localfs keeps no temp file after a failed write', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-localfs-'));
  const backend = new LocalFsBackend(dir);
  const body = new Readable({
    read() {
      this.push(Buffer.alloc(1024));
      this.destroy(new Error('cut'));
    },
  });
  await assert.rejects(backend.write(body));
  assert.deepEqual(readdirSync(path.join(dir, 'tmp')), []);
  rmSync(dir, { recursive: true, force: true });
});

test('localfs calls onWriteInterval every 16 MiB of a blob written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-localfs-'));
  let calls = 0;
  const backend = new LocalFsBackend(dir, { onWriteInterval: () => calls++ });
  try {
    const chunk = Buffer.alloc(64 * 1024, 7);
    // 40 MiB: past 16 and 32.
    await backend.write(Readable.from(Array.from({ length: 640 }, () => chunk)));
    assert.equal(calls, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
