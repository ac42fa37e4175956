// Multipart behaviour s3rver cannot show (see test/helpers/fake-s3.ts for exactly what the fake covers).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { S3Backend } from '../../src/vfs/backends/s3.js';
import { FakeS3 } from '../helpers/fake-s3.js';

const MiB = 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('s3 backend multipart paths (fake S3)', () => {
  const fake = new FakeS3();
  let backend: S3Backend;
  before(async () => {
    await fake.start();
    backend = new S3Backend({
      bucket: fake.bucket,
      region: 'us-east-1',
      endpoint: fake.endpoint,
      accessKeyId: 'fake',
      secretAccessKey: 'fake',
      partSize: 5 * MiB,
      queueSize: 2,
      multipartCopyThreshold: MiB,
    });
  });
  after(async () => {
    await backend.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.objects.clear();
    fake.abortedUploads.length = 0;
    fake.partCopies.length = 0;
  });

  test('a body that fails after several parts aborts the multipart upload and leaves no object', async () => {
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 12 * MiB) return void this.destroy(new Error('client went away'));
        sent += MiB;
        this.push(randomBytes(MiB));
      },
    });
    await assert.rejects(backend.write(body), /client went away/);
    assert.equal(fake.abortedUploads.length, 1, 'AbortMultipartUpload was sent');
    assert.deepEqual(fake.pendingUploads(), []);
    assert.equal(fake.objects.size, 0);
  });

  test('an abort signal mid-upload (client disconnect) aborts the multipart upload', async () => {
    const body = new Readable({ read() {} });
    for (let i = 0; i < 7; i++) body.push(randomBytes(MiB));
    const controller = new AbortController();
    const pending = backend.write(body, { signal: controller.signal });
    await waitFor('a part to arrive', () => [...fake.uploads.values()].some((u) => u.parts.size > 0));
    controller.abort();
    await assert.rejects(pending);
    assert.equal(fake.abortedUploads.length, 1);
    assert.deepEqual(fake.pendingUploads(), []);
    assert.equal(fake.objects.size, 0);
  });

  test('a multipart body shorter than declared is aborted before completion', async () => {
    const data = randomBytes(11 * MiB);
    await assert.rejects(backend.write(Readable.from([data]), { expectedSize: 12 * MiB }), (err: Error & { code?: string }) => err.code === 'ABORTED');
    assert.deepEqual(fake.pendingUploads(), []);
    assert.equal(fake.objects.size, 0);
  });

  test('copy of an object above the threshold goes part by part with UploadPartCopy', async () => {
    const data = randomBytes(12 * MiB + 3);
    const stored = await backend.write(Readable.from([data]));
    const copy = await backend.copy(stored.key);
    assert.equal(copy.size, data.length);
    assert.deepEqual(fake.partCopies.map((p) => p.range), [`bytes=0-${5 * MiB - 1}`, `bytes=${5 * MiB}-${10 * MiB - 1}`, `bytes=${10 * MiB}-${data.length - 1}`]);
    assert.ok((await readAll(await backend.read(copy.key))).equals(data));
    assert.deepEqual(fake.pendingUploads(), []);
  });
});
