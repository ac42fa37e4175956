// 1 KiB … 1 GiB through REST into S3 (s3rver behind a counting proxy), with the server as its own
// process (compiled, as the callfs binary runs it) so that its peak RSS is measured alone. Bodies are
// generated and hashed as they stream. The S3 upload buffer is s3_part_size × (s3_queue_size + 2);
// the test runs the defaults, so what it proves holds for an unconfigured deployment.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { startCountingProxy } from '../helpers/counting-proxy.js';
import { ADMIN_KEY } from '../helpers/server.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { randomBody, streamRequest } from '../helpers/streams.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
// /proc counts in KiB, so "200 MB" is 200 × 1024 kB there, as in test/rest/large-file.test.ts.
const RSS_LIMIT = 200 * MiB;
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

describe('large files through REST on the s3 backend, server RSS bounded', () => {
  let s3: RunningS3rver;
  let proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  let srv: ChildServer;
  const peaks: number[] = [];

  before(async () => {
    s3 = await startS3rver();
    proxy = await startCountingProxy(() => s3.endpoint);
    srv = await startChildServer({ backend: { default_backend: 's3', ...s3.config(), s3_endpoint: proxy.url } });
  });
  after(async () => {
    await srv?.stop();
    await proxy?.close();
    await s3?.close();
  });

  for (const size of [KiB, 100 * MiB, GiB]) {
    test(`${size} bytes: upload then download byte-exact (sha256)`, { timeout: 15 * 60_000 }, async () => {
      const body = randomBody(size, MiB);
      const put = await streamRequest(`${srv.url}/v1/files/big/${size}.bin?parents=1`, { method: 'PUT', headers: auth, body: body.stream });
      assert.equal(put.status, 201, put.head.toString());
      const get = await streamRequest(`${srv.url}/v1/files/big/${size}.bin`, { method: 'GET', headers: auth });
      assert.equal(get.status, 200);
      assert.equal(get.bytes, size);
      assert.equal(get.sha256, body.sha256());
      const peak = srv.peakRssKb() * 1024;
      assert.ok(peak < RSS_LIMIT, `server peak RSS ${(peak / MiB).toFixed(1)} MiB must stay under 200 MiB`);
      peaks.push(peak);
      console.log(`# ${size} bytes: server peak RSS so far ${(peak / MiB).toFixed(1)} MiB`);
      if (size === GiB) assert.ok(peak - peaks[1]! < 48 * MiB, `memory must not grow with file size: ${(peaks[1]! / MiB).toFixed(1)} MiB after 100 MiB, ${(peak / MiB).toFixed(1)} MiB after 1 GiB`);
    });
  }

  test('a 1 KiB range near the end of the 1 GiB file fetches only that range from S3', async () => {
    const start = GiB - 3 * MiB;
    const before = proxy.requests.length;
    const res = await streamRequest(`${srv.url}/v1/files/big/${GiB}.bin`, { method: 'GET', headers: { ...auth, range: `bytes=${start}-${start + KiB - 1}` } });
    assert.equal(res.status, 206);
    assert.equal(res.bytes, KiB);
    const gets = proxy.requests.slice(before).filter((r) => r.method === 'GET');
    assert.equal(gets.length, 1, 'one GET to S3');
    assert.equal(gets[0]!.range, `bytes=${start}-${start + KiB - 1}`, 'the range is passed through to S3');
    assert.ok(gets[0]!.responseBytes <= KiB, `S3 sent ${gets[0]!.responseBytes} bytes for a 1 KiB range`);
  });
});
