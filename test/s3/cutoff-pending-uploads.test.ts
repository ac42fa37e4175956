// A CallFS server on the fake S3 (test/helpers/fake-s3.ts), only because s3rver cannot show pending
// multipart uploads nor abort them: a cut-off REST upload must leave no pending multipart upload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeS3 } from '../helpers/fake-s3.js';
import { recordWrites } from '../helpers/backend-writes.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../helpers/server.js';
import { cutOffUpload, waitFor } from '../helpers/streams.js';

const MiB = 1024 * 1024;

describe('cut-off uploads through REST leave no pending multipart upload (fake S3)', () => {
  const fake = new FakeS3();
  let srv: TestServer;
  before(async () => {
    await fake.start();
    srv = await startTestServer({
      config: {
        log: { level: 'error' },
        backend: { default_backend: 's3', s3_endpoint: fake.endpoint, s3_bucket_name: fake.bucket, s3_access_key: 'fake', s3_secret_key: 'fake', s3_part_size: 5 * MiB, s3_queue_size: 2 },
      },
    });
  });
  after(async () => {
    await srv?.close();
    await fake.close();
  });

  for (const [label, headers] of [
    ['unknown length (chunked)', { 'transfer-encoding': 'chunked' }],
    ['declared Content-Length', { 'content-length': String(30 * MiB) }],
  ] as const) {
    test(label, async () => {
      const writes = recordWrites(srv.server.vfs.backends.byName('s3'));
      await cutOffUpload(`${srv.url}/v1/files/cut-${label.length}.bin`, { authorization: `Bearer ${ADMIN_KEY}`, ...headers }, 17 * MiB);
      await waitFor('the server to start writing', () => writes.length === 1);
      const outcome = await writes[0]!;
      assert.ok(outcome instanceof Error);
      assert.ok(fake.abortedUploads.length > 0, 'the multipart upload was started and then aborted');
      assert.deepEqual(fake.pendingUploads(), [], 'no pending multipart upload');
      assert.equal(fake.objects.size, 0, 'no completed object');
      assert.equal((await srv.request('GET', `/v1/files/cut-${label.length}.bin`)).status, 404);
      fake.abortedUploads.length = 0;
    });
  }
});
