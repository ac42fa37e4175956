// `callfs fsck` as a separate process against a tree served by a running CallFS server
// (localfs by default, /s3 mounted on s3rver): damage done behind CallFS's back is found and repaired.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { CONTENT_LOST_PROPERTY } from '../../src/fsck/fsck.js';
import { LocalFsBackend } from '../../src/vfs/backends/localfs.js';
import type { S3Backend } from '../../src/vfs/backends/s3.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

function runFsck(configFile: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'fsck', '--config', configFile, ...args], { env: process.env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('callfs fsck', () => {
  let s3: RunningS3rver;
  let srv: TestServer;
  let configFile: string;
  let bucket: S3Backend;
  let local: LocalFsBackend;
  // Small files would be stored inline; these tests are about blobs on disk and in the bucket.
  const backendConfig = () => ({ default_backend: 'localfs', mounts: [{ path: '/s3', backend: 's3' }], ...s3.config(), orphan_sweep_interval: 0, inline_max_bytes: 0 });
  const key = async (p: string) => (await srv.server.vfs.store.lookup(p))!.blobKey!;

  before(async () => {
    s3 = await startS3rver();
    srv = await startTestServer({ config: { log: { level: 'error' }, instance_discovery: { instance_id: 'fsck-node' }, backend: backendConfig() } });
    configFile = path.join(srv.dataDir, 'fsck.yaml');
    writeFileSync(configFile, stringify({ data_dir: srv.dataDir, instance_discovery: { instance_id: 'fsck-node' }, backend: backendConfig() }));
    bucket = s3.backend();
    local = new LocalFsBackend(path.join(srv.dataDir, 'localfs'));
    for (const p of ['/s3/a.bin', '/s3/b.bin', '/local/c.bin', '/local/d.bin']) {
      const res = await srv.request('PUT', `/v1/files${p}?parents=1`, { body: `content of ${p}` });
      assert.equal(res.status, 201);
    }
  });
  after(async () => {
    await srv?.close();
    await bucket?.close();
    await s3?.close();
  });

  test('a clean tree: exit 0 (with the server running)', async () => {
    const { code, out } = await runFsck(configFile);
    assert.equal(code, 0, out);
    assert.match(out, /checked 4 reference\(s\) against 4 blob\(s\) in localfs, s3, inline: clean/);
  });

  test('finds missing blobs, orphans and size mismatches; --repair fixes what it can', async () => {
    const [a, b, c, d] = [await key('/s3/a.bin'), await key('/s3/b.bin'), await key('/local/c.bin'), await key('/local/d.bin')];
    // Damage behind CallFS's back.
    await bucket.delete(a);
    rmSync(local.pathOf(c));
    writeFileSync(local.pathOf(d), 'a different length than before');
    const s3Orphan = (await bucket.write(Readable.from([Buffer.from('planted in the bucket')]))).key;
    const oldLocalOrphan = (await local.write(Readable.from([Buffer.from('planted long ago')]))).key;
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(local.pathOf(oldLocalOrphan), twoHoursAgo, twoHoursAgo);

    let { code, out } = await runFsck(configFile);
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`missing +s3 ${a} \\d+ bytes for /s3/a\\.bin`));
    assert.match(out, new RegExp(`missing +localfs ${c} \\d+ bytes for /local/c\\.bin`));
    assert.match(out, new RegExp(`size +localfs ${d} for /local/d\\.bin: metadata says \\d+ bytes, backend holds 30`));
    assert.match(out, new RegExp(`orphan +localfs ${oldLocalOrphan} 16 bytes, 2h old`));
    assert.doesNotMatch(out, new RegExp(`orphan +s3 ${s3Orphan}`), 'a fresh orphan is within the 1h grace period');
    assert.match(out, /1 unreferenced blob\(s\) within the grace period/);
    assert.doesNotMatch(out, new RegExp(b), 'the intact file is not mentioned');

    ({ code, out } = await runFsck(configFile, '--grace', '0s'));
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`orphan +s3 ${s3Orphan} 21 bytes`));

    ({ code, out } = await runFsck(configFile, '--repair', '--grace', '0'));
    assert.equal(code, 1, 'problems were found (and repaired): exit 1');
    assert.match(out, new RegExp(`orphan +s3 ${s3Orphan} .* — removed`));
    assert.match(out, new RegExp(`orphan +localfs ${oldLocalOrphan} .* — removed`));
    assert.match(out, new RegExp(`missing +s3 ${a} .* — marked`));
    assert.match(out, new RegExp(`missing +localfs ${c} .* — marked`));
    assert.equal(await bucket.stat(s3Orphan), null);
    assert.equal(await local.stat(oldLocalOrphan), null);
    assert.ok(await bucket.stat(b), 'referenced blobs are untouched');
    assert.equal(await (await srv.request('GET', '/v1/files/s3/b.bin')).text(), 'content of /s3/b.bin');

    // A file whose content was lost is now an empty file, marked with a dead property.
    const lost = await srv.request('GET', '/v1/files/s3/a.bin');
    assert.equal(lost.status, 200);
    assert.equal(await lost.text(), '');
    const node = (await srv.server.vfs.store.lookup('/s3/a.bin'))!;
    assert.equal(node.size, 0);
    const props = await srv.server.vfs.store.getProperties(node.id);
    const mark = props.find((p) => p.namespace === CONTENT_LOST_PROPERTY.namespace && p.name === CONTENT_LOST_PROPERTY.name);
    assert.match(mark?.value ?? '', new RegExp(`blob ${a} \\(\\d+ bytes\\) was missing from backend s3`));

    // The size mismatch is reported, not "repaired": the bytes are there but not the ones that were written.
    ({ code, out } = await runFsck(configFile));
    assert.equal(code, 1, out);
    assert.match(out, /size +localfs/);
    assert.equal((await srv.request('PUT', '/v1/files/local/d.bin', { body: 'rewritten' })).status, 200);
    await srv.server.vfs.settled(); // the replaced blob leaves the disk behind the answer
    ({ code, out } = await runFsck(configFile));
    assert.equal(code, 0, out);
  });

  test('exit 2 when it cannot run', async () => {
    let { code, out } = await runFsck(configFile, '--grace', 'soon');
    assert.equal(code, 2, out);
    assert.match(out, /--grace soon/);
    const unreachable = path.join(srv.dataDir, 'unreachable.yaml');
    writeFileSync(unreachable, stringify({ data_dir: srv.dataDir, backend: { ...backendConfig(), s3_endpoint: 'http://127.0.0.1:9' } }));
    ({ code, out } = await runFsck(unreachable));
    assert.equal(code, 2, out);
    assert.match(out, /fsck could not run: S3 bucket callfs-test is unreachable/);
    ({ code, out } = await runFsck(path.join(srv.dataDir, 'no-such-config.yaml')));
    assert.equal(code, 2, out);
  });

  test('runs with the server down too', async () => {
    await srv.server.close();
    const { code, out } = await runFsck(configFile);
    assert.equal(code, 0, out);
  });
});
