import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sh, startMount, type TestMount } from './mount-helper.js';

const GIB = 1024 * 1024 * 1024;
const RSS_LIMIT_KB = 200 * 1024;

async function peakRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  assert.ok(match, 'VmHWM in /proc/<pid>/status');
  return Number(match[1]);
}

/** A 1 GiB file through the mount: content intact both ways, and the client's memory flat. */
describe('callfs mount: a 1 GiB file', () => {
  let server: TestServer;
  let mount: TestMount;

  before(async () => {
    server = await startTestServer();
    mount = await startMount(server.url);
  });

  after(async () => {
    await mount?.stop();
    await server?.close();
  });

  it('is written and read back with the same sha256 while the mount process stays under 200 MB', async () => {
    const file = `${mount.mountpoint}/big.bin`;
    // Random data hashed on its way in; no 1 GiB source file is needed.
    const written = (await sh(`set -o pipefail; head -c ${GIB} /dev/urandom | tee ${file} | sha256sum`, 600_000)).split(' ')[0];
    const readBack = (await sh(`sha256sum ${file}`, 600_000)).split(' ')[0];
    assert.equal(readBack, written, 'read back through the mount');

    const res = await server.request('GET', '/v1/files/big.bin');
    assert.equal(res.headers.get('content-length'), String(GIB));
    const hash = createHash('sha256');
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), hash);
    assert.equal(hash.digest('hex'), written, 'the server holds the same bytes');

    const peak = await peakRssKb(mount.child.pid!);
    assert.ok(peak < RSS_LIMIT_KB, `mount process peak RSS ${Math.round(peak / 1024)} MB`);
    console.log(`# mount process peak RSS (VmHWM) after 1 GiB each way: ${Math.round(peak / 1024)} MB`);
  });
});
