// The background sweeper of a running server: removes old orphans on its own localfs disk, keeps
// young ones (uploads in flight) and referenced blobs, and leaves the shared S3 bucket alone.
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LocalFsBackend } from '../../src/vfs/backends/localfs.js';
import type { S3Backend } from '../../src/vfs/backends/s3.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/streams.js';

describe('orphan sweeper', () => {
  let s3: RunningS3rver;
  let srv: TestServer;
  let bucket: S3Backend;
  let local: LocalFsBackend;

  before(async () => {
    s3 = await startS3rver();
    srv = await startTestServer({
      config: { log: { level: 'error' }, backend: { mounts: [{ path: '/s3', backend: 's3' }], ...s3.config(), orphan_sweep_interval: '200ms', orphan_grace: '1h', inline_max_bytes: 0 } },
    });
    bucket = s3.backend();
    local = new LocalFsBackend(path.join(srv.dataDir, 'localfs'));
  });
  after(async () => {
    await srv?.close();
    await bucket?.close();
    await s3?.close();
  });

  test('old local orphans go; young ones, referenced blobs and the bucket stay', async () => {
    assert.equal((await srv.request('PUT', '/v1/files/kept.txt', { body: 'kept' })).status, 201);
    assert.equal((await srv.request('PUT', '/v1/files/s3/kept.txt?parents=1', { body: 'kept in s3' })).status, 201);
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000);
    // An old referenced blob must survive whatever its age.
    const referenced = (await srv.server.vfs.store.lookup('/kept.txt'))!.blobKey!;
    utimesSync(local.pathOf(referenced), threeHoursAgo, threeHoursAgo);
    const young = (await local.write(Readable.from([Buffer.from('upload in flight')]))).key;
    const old = (await local.write(Readable.from([Buffer.from('left by a crash')]))).key;
    utimesSync(local.pathOf(old), threeHoursAgo, threeHoursAgo);
    const s3Orphan = (await bucket.write(Readable.from([Buffer.from('not this node to sweep')]))).key;

    await waitFor('the sweeper to remove the old orphan', async () => (await local.stat(old)) === null);
    assert.ok(await local.stat(young), 'a blob younger than the grace period is kept');
    assert.ok(await local.stat(referenced), 'a referenced blob is kept');
    assert.ok(await bucket.stat(s3Orphan), 'shared backends are left to callfs fsck --repair');
    assert.equal(await (await srv.request('GET', '/v1/files/kept.txt')).text(), 'kept');
    assert.equal(await (await srv.request('GET', '/v1/files/s3/kept.txt')).text(), 'kept in s3');
  });
});
