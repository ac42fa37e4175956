import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isFuseMounted } from '../../src/fuse/mounts.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sh, shFails, startMount, waitFor } from './mount-helper.js';

/** A server that goes away and comes back, and the ways a mount ends. */
describe('callfs mount: failures and unmounting', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('answers EIO within --timeout while the server is down or hangs, and recovers when it is back', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'callfs-fuse-data-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    let server: TestServer = await startTestServer({ dataDir });
    cleanups.push(() => server.close());
    const port = new URL(server.url).port;
    const mount = await startMount(server.url, ['--timeout', '2', '--cache-ttl', '0.5']);
    cleanups.push(() => mount.stop());
    const mnt = (p: string) => path.join(mount.mountpoint, p);
    await writeFile(mnt('before.txt'), 'written before the outage');

    // Down: connections are refused.
    await server.close();
    let started = Date.now();
    assert.match(await shFails(`cat ${mnt('unseen-1')}`, 20_000), /Input\/output error/);
    assert.match(await shFails(`echo x > ${mnt('new-during-outage')}`, 20_000), /Input\/output error/);
    assert.ok(Date.now() - started < 10_000, `refused connections fail fast (${Date.now() - started} ms)`);

    // Hanging: something accepts connections on the port and never answers.
    const sockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(Number(port), '127.0.0.1', resolve));
    started = Date.now();
    assert.match(await shFails(`stat ${mnt('unseen-2')}`, 30_000), /Input\/output error/);
    const waited = Date.now() - started;
    assert.ok(waited >= 1500 && waited < 15_000, `a hanging server gives EIO after about --timeout 2 s (took ${waited} ms)`);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));

    // Back on the same port with the same data: the same mount works again.
    server = await startTestServer({ dataDir, config: { server: { listen_addr: `127.0.0.1:${port}` } } });
    await waitFor('the mount to work again', async () => (await readFile(mnt('before.txt'), 'utf8').catch(() => '')) === 'written before the outage', 20_000);
    await writeFile(mnt('after.txt'), 'written after the outage');
    assert.equal(await (await server.request('GET', '/v1/files/after.txt')).text(), 'written after the outage');
    assert.ok(isFuseMounted(mount.mountpoint));
  });

  it('on SIGTERM uploads pending writes of open files, then unmounts and exits 0', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.close());
    const mount = await startMount(server.url);
    cleanups.push(() => mount.stop());
    const file = path.join(mount.mountpoint, 'held-open.txt');
    // A writer that writes and keeps the file open (no close, so no flush yet).
    const writer = spawn(process.execPath, ['-e', `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(file)},'w');fs.writeSync(fd,'pending bytes');console.log('ready');setInterval(()=>{},1000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => writer.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      writer.stdout!.once('data', () => resolve());
      writer.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
    });
    assert.equal((await server.request('HEAD', '/v1/files/held-open.txt')).status, 404, 'nothing uploaded before close');
    mount.child.kill('SIGTERM');
    assert.equal(await mount.exited, 0, mount.log());
    assert.equal(isFuseMounted(mount.mountpoint), false, 'unmounted');
    assert.equal(await (await server.request('GET', '/v1/files/held-open.txt')).text(), 'pending bytes');
    writer.kill('SIGKILL');
  });

  it('callfs unmount unmounts, and the mount process exits (API key from CALLFS_API_KEY)', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.close());
    const mount = await startMount(server.url, [], { keyFromEnv: true });
    cleanups.push(() => mount.stop());
    await writeFile(path.join(mount.mountpoint, 'f'), 'data');
    await sh(`node --import tsx src/cli.ts unmount ${mount.mountpoint}`);
    assert.equal(isFuseMounted(mount.mountpoint), false);
    assert.equal(await mount.exited, 0, mount.log());
    assert.equal(await (await server.request('GET', '/v1/files/f')).text(), 'data');
    assert.match(await shFails(`node --import tsx src/cli.ts unmount ${mount.mountpoint}`), /not a FUSE mount/);
  });

  it('callfs mount explains an unreachable server instead of mounting', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'callfs-mnt-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const stderr = await shFails(`node --import tsx src/cli.ts mount http://127.0.0.1:1 ${dir} --timeout 2`);
    assert.match(stderr, /cannot use http:\/\/127\.0\.0\.1:1/);
    assert.equal(isFuseMounted(dir), false);
    const server = await startTestServer();
    cleanups.push(() => server.close());
    assert.match(await shFails(`node --import tsx src/cli.ts mount ${server.url} ${dir} --api-key wrong-key`), /cannot use .*401/);
    assert.equal(isFuseMounted(dir), false);
  });
});
