import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { assertFreeSpaceBetween, readDisk } from '../helpers/disk.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../helpers/server.js';
import { dav, run } from './dav-client.js';

let server: TestServer;
let work: string;
before(async () => {
  server = await startTestServer();
  work = mkdtempSync(path.join(tmpdir(), 'callfs-dav-mounts-'));
  // mount.davfs drops to the davfs2 user for its cache; it must reach it.
  chmodSync(work, 0o755);
});
after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('davfs2 mount: write, read, mkdir, mv, df; the server sees every change', { timeout: 180_000 }, async () => {
  const mnt = path.join(work, 'mnt');
  const cache = path.join(work, 'cache');
  mkdirSync(mnt);
  mkdirSync(cache);
  const { gid } = await run('id', ['-g', 'davfs2']).then((r) => ({ gid: Number(r.stdout.trim()) }));
  assert.ok(Number.isInteger(gid) && gid > 0, 'the davfs2 group exists (package davfs2)');
  chownSync(cache, 0, gid);
  chmodSync(cache, 0o775);
  const secrets = path.join(work, 'secrets');
  writeFileSync(secrets, `${server.url}/dav/ davfs ${ADMIN_KEY}\n`, { mode: 0o600 });
  const conf = path.join(work, 'davfs2.conf');
  // buf_size 64: this kernel's FUSE rejects davfs2's default buffer size.
  writeFileSync(conf, `buf_size 64\nsecrets ${secrets}\ncache_dir ${cache}\ndelay_upload 0\nuse_locks 1\n`);
  const mount = await run('mount.davfs', ['-o', `conf=${conf}`, `${server.url}/dav/`, mnt], { timeoutMs: 60_000 });
  assert.equal(mount.code, 0, `mount.davfs failed (it needs root and /dev/fuse): ${mount.stderr}`);
  let mounted = true;
  try {
    // The server runs in this process: file operations on the mount go through a child
    // process, or a blocking fs call here would stall the server davfs2 is waiting on.
    const big = randomBytes(2_500_000);
    const bigSource = path.join(work, 'big.bin');
    writeFileSync(bigSource, big);
    const diskBefore = readDisk(server.dataDir);
    const ops = await run('bash', ['-c', `set -e; cd '${mnt}'
printf 'hello from davfs2\\n' > hello.txt
mkdir dir
cp '${bigSource}' dir/big.bin
mv hello.txt dir/moved.txt
echo "READ:$(cat dir/moved.txt)"
echo "SHA:$(sha256sum dir/big.bin | cut -d' ' -f1)"
echo "LS:$(ls dir | tr '\\n' ' ')"
echo "DF:$(df -B1 --output=size,avail . | tail -1)"`], { timeoutMs: 120_000 });
    assert.equal(ops.code, 0, ops.stderr);
    assert.match(ops.stdout, /READ:hello from davfs2/);
    assert.match(ops.stdout, new RegExp(`SHA:${sha(big)}`));
    assert.match(ops.stdout, /LS:big\.bin moved\.txt/);
    // davfs2's df is RFC 4331's quota properties: the free space is the server disk's (which moves with whatever else writes there).
    const [size, available] = /DF:\s*(\d+)\s+(\d+)/.exec(ops.stdout)!.slice(1).map(Number) as [number, number];
    assertFreeSpaceBetween(available, diskBefore.availableBytes, readDisk(server.dataDir).availableBytes, 'df on davfs2');
    assert.ok(size >= available);
    // Unmounting flushes davfs2's cache to the server.
    const umount = await run('umount', [mnt], { timeoutMs: 120_000 });
    assert.equal(umount.code, 0, umount.stderr);
    mounted = false;
    assert.equal(await (await server.request('GET', '/v1/files/dir/moved.txt')).text(), 'hello from davfs2\n');
    assert.equal(sha(Buffer.from(await (await server.request('GET', '/v1/files/dir/big.bin')).arrayBuffer())), sha(big));
    assert.equal((await server.request('GET', '/v1/files/hello.txt')).status, 404);
  } finally {
    if (mounted) await run('umount', ['-l', mnt]);
  }
});

test('gvfs through gio (headless, in a private D-Bus session): mount, copy, list, move, cat, remove', { timeout: 180_000 }, async () => {
  const hostPort = new URL(server.url).host;
  const root = `dav://${hostPort}/dav/`;
  const local = path.join(work, 'gio-src.txt');
  writeFileSync(local, 'written by gvfs\n');
  await dav(server, 'MKCOL', '/dav/gio/');
  const script = `
set -e
printf 'gio\\n%s\\n' "$CALLFS_KEY" | gio mount ${root}
gio copy ${local} ${root}gio/a.txt
echo "LIST:$(gio list ${root}gio/ | tr '\\n' ' ')"
gio move ${root}gio/a.txt ${root}gio/b.txt
echo "CAT:$(gio cat ${root}gio/b.txt)"
gio copy ${root}gio/b.txt ${root}gio/c.txt
gio remove ${root}gio/b.txt
echo "AFTER:$(gio list ${root}gio/ | tr '\\n' ' ')"
gio mount -u ${root}
`;
  const result = await run('dbus-run-session', ['--', 'bash', '-c', script], { env: { ...process.env, CALLFS_KEY: ADMIN_KEY, HOME: work }, timeoutMs: 150_000 });
  const out = result.stdout + result.stderr;
  assert.equal(result.code, 0, `gio failed (needs packages gvfs-backends, dbus): ${out}`);
  assert.match(out, /LIST:a\.txt/, out);
  assert.match(out, /CAT:written by gvfs/, out);
  assert.match(out, /AFTER:c\.txt\s*$/m, out);
  assert.equal(await (await server.request('GET', '/v1/files/gio/c.txt')).text(), 'written by gvfs\n');
  assert.equal((await server.request('GET', '/v1/files/gio/b.txt')).status, 404);
});
