import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFreeSpaceBetween, readDisk } from '../helpers/disk.js';
import { ALICE, BOB, startTestServer, type TestServer } from '../helpers/server.js';
import { sh, shFails, startMount, waitFor, type TestMount } from './mount-helper.js';

/** Files, directories, errno and mtimes through a real mount, checked over REST. */
describe('callfs mount: files and directories', () => {
  let server: TestServer;
  let mount: TestMount;
  let mnt: (p: string) => string;

  const restBody = async (p: string) => {
    const res = await server.request('GET', `/v1/files${p}`);
    assert.equal(res.status, 200, `GET ${p}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const restHead = async (p: string) => server.request('HEAD', `/v1/files${p}`);
  const restMtime = async (p: string) => {
    const res = await restHead(p);
    assert.equal(res.status, 200, `HEAD ${p}`);
    return Date.parse(res.headers.get('x-callfs-mtime')!);
  };
  /** What the server holds for a file: mode and owner (as its headers give them), mtime and content. */
  const assertOnServer = async (p: string, expected: { mode: string; uid: string; gid: string; mtimeMs: number; content: string }) => {
    const head = await restHead(p);
    assert.deepEqual(
      ['x-callfs-mode', 'x-callfs-uid', 'x-callfs-gid'].map((h) => head.headers.get(h)),
      [expected.mode, expected.uid, expected.gid],
      p,
    );
    assert.equal(await restMtime(p), expected.mtimeMs, p);
    assert.equal((await restBody(p)).toString(), expected.content, p);
  };
  const errCode = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code;
    }
    return 'no error';
  };

  before(async () => {
    server = await startTestServer();
    mount = await startMount(server.url, ['--cache-ttl', '1']);
    mnt = (p: string) => path.join(mount.mountpoint, p);
  });

  after(async () => {
    await mount?.stop();
    await server?.close();
  });

  it('creates, writes, appends, overwrites and truncates byte-exact', async () => {
    await sh(`printf 'hello' > ${mnt('a.txt')}`);
    assert.equal((await restBody('/a.txt')).toString(), 'hello');
    await sh(`printf ' world' >> ${mnt('a.txt')}`);
    assert.equal((await restBody('/a.txt')).toString(), 'hello world');
    const fh = await open(mnt('a.txt'), 'r+');
    await fh.write('HELLO', 0);
    await fh.close();
    assert.equal((await restBody('/a.txt')).toString(), 'HELLO world');
    await sh(`truncate -s 5 ${mnt('a.txt')}`);
    assert.equal((await restBody('/a.txt')).toString(), 'HELLO');
    await sh(`truncate -s 8 ${mnt('a.txt')}`);
    assert.deepEqual(await restBody('/a.txt'), Buffer.from('HELLO\0\0\0'));
    assert.deepEqual(await readFile(mnt('a.txt')), Buffer.from('HELLO\0\0\0'));
    await sh(`: > ${mnt('a.txt')}`);
    assert.equal((await restBody('/a.txt')).length, 0);
    assert.equal((await stat(mnt('a.txt'))).size, 0);
    await sh(`touch ${mnt('empty')}`);
    assert.equal((await restHead('/empty')).status, 200);
  });

  it('reads back binary data across read-ahead chunks', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    await writeFile(mnt('bin'), data);
    assert.ok((await restBody('/bin')).equals(data), 'server content');
    assert.ok((await readFile(mnt('bin'))).equals(data), 'read back through the mount');
    const fh = await open(mnt('bin'), 'r');
    const piece = Buffer.alloc(100);
    const { bytesRead } = await fh.read(piece, 0, 100, 4 * 1024 * 1024 - 50);
    await fh.close();
    assert.equal(bytesRead, 100);
    assert.ok(piece.equals(data.subarray(4 * 1024 * 1024 - 50, 4 * 1024 * 1024 + 50)), 'a read straddling two chunks');
  });

  it('serves reads of a file being written from what was written', async () => {
    await writeFile(mnt('live'), 'old content that is long');
    const writer = await open(mnt('live'), 'r+');
    await writer.write('NEW', 0);
    const reader = await open(mnt('live'), 'r');
    const seen = Buffer.alloc(64);
    const { bytesRead } = await reader.read(seen, 0, 64, 0);
    assert.equal(seen.subarray(0, bytesRead).toString(), 'NEW content that is long');
    await reader.close();
    await writer.close();
    assert.equal((await restBody('/live')).toString(), 'NEW content that is long');
  });

  it('keeps modification times: touch -m -d, touch -a, touch', async () => {
    await writeFile(mnt('t.txt'), 'x');
    await sh(`touch -m -d '2001-02-03 04:05:06 UTC' ${mnt('t.txt')}`);
    assert.equal(await restMtime('/t.txt'), Date.parse('2001-02-03T04:05:06Z'));
    await sh(`touch -a -d '2010-01-01 00:00:00 UTC' ${mnt('t.txt')}`);
    assert.equal(await restMtime('/t.txt'), Date.parse('2001-02-03T04:05:06Z'), 'touch -a leaves mtime alone');
    const before = Date.now() - 2000;
    await sh(`touch ${mnt('t.txt')}`);
    const now = await restMtime('/t.txt');
    assert.ok(now >= before && now <= Date.now() + 2000, `touch sets mtime to now (got ${new Date(now).toISOString()})`);
    await sh(`touch -d '1999-12-31 23:59:59 UTC' ${mnt('t.txt')}`);
    assert.equal(await restMtime('/t.txt'), Date.parse('1999-12-31T23:59:59Z'));
    assert.equal((await stat(mnt('t.txt'))).mtimeMs, Date.parse('1999-12-31T23:59:59Z'));
  });

  it('re-applies an mtime set while the file was open when it uploads', async () => {
    const fh = await open(mnt('open-mtime'), 'w');
    await fh.write('pending data');
    await fh.utimes(new Date('2005-06-07T08:09:10Z'), new Date('2005-06-07T08:09:10Z'));
    await fh.close();
    assert.equal((await restBody('/open-mtime')).toString(), 'pending data');
    assert.equal(await restMtime('/open-mtime'), Date.parse('2005-06-07T08:09:10Z'));
    // A write after the utimes makes it "modified now" again, as on a local disk.
    const again = await open(mnt('open-mtime'), 'r+');
    await again.utimes(new Date('2005-06-07T08:09:10Z'), new Date('2005-06-07T08:09:10Z'));
    await again.write('P', 0);
    await again.close();
    assert.ok((await restMtime('/open-mtime')) > Date.now() - 60_000);
  });

  /** Requests the server has answered under /v1/files and /v1/directories, by method and status ("PUT 201", "GET 200 listing"). */
  const fileRequests = async () => {
    const text = await (await server.request('GET', '/metrics')).text();
    const counts: Record<string, number> = {};
    for (const m of text.matchAll(/^callfs_http_requests_total\{method="(\w+)",path="\/v1\/(files|directories)\/\*",status_code="(\d+)"\} (\d+)$/gm)) {
      counts[`${m[1]} ${m[3]}${m[2] === 'directories' ? ' listing' : ''}`] = Number(m[4]);
    }
    return counts;
  };

  it('a new file chmodded, timed and chowned while open: stat shows it meanwhile, the server after close, all from one PUT', async () => {
    const when = new Date('2004-05-06T07:08:09Z');
    // create() checks the parent directory, from the mount's cache while it holds it (TTL 1 s). Once it has
    // certainly expired (what is awaited is time itself), that check is exactly one HEAD of "/", whatever
    // the tests before this one did.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = await fileRequests();
    const fh = await open(mnt('open-attrs'), 'w', 0o644);
    await fh.write('attrs');
    await fh.chmod(0o640);
    assert.equal((await fh.stat()).mode & 0o7777, 0o640, 'the mode of a file not uploaded yet');
    await fh.utimes(when, when);
    await fh.chown(4321, 8765);
    const meanwhile = await fh.stat();
    assert.deepEqual([meanwhile.mode & 0o7777, meanwhile.uid, meanwhile.gid, meanwhile.mtimeMs], [0o640, 4321, 8765, when.getTime()]);
    await fh.close();
    await stat(mnt('open-attrs'));
    const after = await fileRequests();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    // Mode, mtime and owner all go with the one upload that creates the file; its answer is kept, not asked
    // for again. The one lookup is the kernel's before the create (a HEAD answered 404, or a listing of a
    // directory listed lately); the one HEAD answered 200 is create()'s check of "/".
    assert.deepEqual(
      { put: delta('PUT 201'), patch: delta('PATCH 200'), lookup: delta('HEAD 404') + delta('GET 200 listing'), parent: delta('HEAD 200') },
      { put: 1, patch: 0, lookup: 1, parent: 1 },
    );
    await assertOnServer('/open-attrs', { mode: '0640', uid: '4321', gid: '8765', mtimeMs: when.getTime(), content: 'attrs' });
  });

  it('files created one after another in a directory the mount made are not looked up one by one; a file put there over REST still shows', async () => {
    const before = await fileRequests();
    const started = Date.now();
    await mkdir(mnt('batch'));
    for (let i = 0; i < 40; i++) await writeFile(mnt(`batch/f${i}`), `file ${i}`);
    const seconds = (Date.now() - started) / 1000;
    const after = await fileRequests();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    assert.equal(delta('PUT 201'), 40);
    // The one name asked about is the directory's own, before mkdir. Once the directory's listing expires
    // (cache TTL 1 s), a lookup lists it again: at most once per TTL, not once per name.
    assert.equal(delta('HEAD 404'), 1);
    assert.ok(delta('GET 200 listing') <= Math.ceil(seconds) + 1, `${delta('GET 200 listing')} listings in ${seconds} s`);
    // Once the listing has certainly expired (the TTL is 1 s; what is awaited is time itself), the next new
    // name costs one listing of the directory, not a lookup of the name.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const beforeExpired = await fileRequests();
    await writeFile(mnt('batch/f40'), 'file 40');
    const afterExpired = await fileRequests();
    const expiredDelta = (key: string) => (afterExpired[key] ?? 0) - (beforeExpired[key] ?? 0);
    assert.deepEqual({ lookup: expiredDelta('HEAD 404'), listing: expiredDelta('GET 200 listing'), put: expiredDelta('PUT 201') }, { lookup: 0, listing: 1, put: 1 });
    assert.equal((await readdir(mnt('batch'))).length, 41);
    assert.equal(await readFile(mnt('batch/f39'), 'utf8'), 'file 39');
    assert.equal((await server.request('PUT', '/v1/files/batch/from-rest.txt', { body: 'over REST' })).status, 201);
    await waitFor('a file put over REST to show in a directory the mount writes into', async () => (await readFile(mnt('batch/from-rest.txt'), 'utf8').catch(() => '')) === 'over REST', 10_000);
  });

  it('as root, tar\'s order on a new file (write, utimes, chown, chmod) is one PUT: a root mount\'s chown cannot be refused, so it waits for the upload', async () => {
    // The mount learns that it acts as root from a directory it makes, which the server gives to its principal.
    await mkdir(mnt('as-root'));
    const when = new Date('2003-04-05T06:07:08Z');
    const before = await fileRequests();
    const fh = await open(mnt('as-root/extracted'), 'w', 0o600);
    await fh.write('from a tarball');
    await fh.utimes(when, when);
    await fh.chown(2345, 6789);
    await fh.chmod(0o751);
    const meanwhile = await fh.stat();
    assert.deepEqual([meanwhile.uid, meanwhile.gid, meanwhile.mode & 0o7777], [2345, 6789, 0o751]);
    await fh.close();
    const after = await fileRequests();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    assert.deepEqual({ put: delta('PUT 201'), patch: delta('PATCH 200') }, { put: 1, patch: 0 });
    await assertOnServer('/as-root/extracted', { mode: '0751', uid: '2345', gid: '6789', mtimeMs: when.getTime(), content: 'from a tarball' });
  });

  it('a large file is uploaded while it is written: tar\'s order on it is one PUT and one PATCH, and a write out of order within the same open still lands', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 77);
    const when = new Date('2004-05-06T07:08:09Z');
    const before = await fileRequests();
    const fh = await open(mnt('as-root/large-extracted'), 'w', 0o600);
    await fh.write(content);
    await fh.utimes(when, when);
    await fh.chown(2345, 6789);
    await fh.chmod(0o751);
    await fh.close();
    const after = await fileRequests();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    // The PUT went out while the file was written, so the attributes set after it need a PATCH of their own.
    assert.deepEqual({ put: delta('PUT 201'), patch: delta('PATCH 200') }, { put: 1, patch: 1 });
    const head = await restHead('/as-root/large-extracted');
    assert.deepEqual(['x-callfs-mode', 'x-callfs-uid', 'x-callfs-gid'].map((h) => head.headers.get(h)), ['0751', '2345', '6789']);
    assert.equal(await restMtime('/as-root/large-extracted'), when.getTime());
    assert.ok((await restBody('/as-root/large-extracted')).equals(content), 'content');

    const rewritten = randomBytes(3 * 1024 * 1024);
    const writer = await open(mnt('rewritten-while-open'), 'w');
    await writer.write(rewritten, 0, rewritten.length, 0);
    const patch = Buffer.from('written out of order');
    await writer.write(patch, 0, patch.length, 4096);
    const tail = randomBytes(100_000);
    await writer.write(tail, 0, tail.length, rewritten.length);
    await writer.close();
    patch.copy(rewritten, 4096);
    assert.ok((await restBody('/rewritten-while-open')).equals(Buffer.concat([rewritten, tail])), 'content with the out-of-order write');
  });

  /** A directory at the root, made over REST and given to Alice with `mode`. */
  const aliceDirectory = async (name: string, mode: string) => {
    await server.request('POST', `/v1/files/${name}/`);
    const body = JSON.stringify({ uid: ALICE.uid, gid: ALICE.gid, mode });
    await server.request('PATCH', `/v1/files/${name}`, { headers: { 'content-type': 'application/json' }, body });
  };

  it('a refused chown of a new file is EPERM from chown, and the file still arrives on close, owned by its writer', async () => {
    await aliceDirectory('alice-home', '0755');
    const asAlice = await startMount(server.url, ['--cache-ttl', '1'], { apiKey: ALICE.api_keys[0] });
    try {
      const fh = await open(path.join(asAlice.mountpoint, 'alice-home/given-away'), 'w');
      await fh.write('mine');
      assert.equal(await errCode(fh.chown(BOB.uid, BOB.gid)), 'EPERM');
      assert.equal((await restHead('/alice-home/given-away')).status, 404, 'nothing created by the refused chown');
      await fh.close();
      assert.equal((await restBody('/alice-home/given-away')).toString(), 'mine');
      const head = await restHead('/alice-home/given-away');
      assert.deepEqual([head.headers.get('x-callfs-uid'), head.headers.get('x-callfs-gid')], [String(ALICE.uid), String(ALICE.gid)]);
    } finally {
      await asAlice.stop();
    }
  });

  it("another user's private directory and file can be stat'ed, as on a local disk, but not listed or read", async () => {
    await aliceDirectory('alice-private', '0700');
    await server.request('PUT', '/v1/files/alice-secret.txt', { body: 'secret' });
    const body = JSON.stringify({ uid: ALICE.uid, gid: ALICE.gid, mode: '0600' });
    await server.request('PATCH', '/v1/files/alice-secret.txt', { headers: { 'content-type': 'application/json' }, body });
    // Nothing cached: every stat asks the server, rather than finding a listing of "/" made meanwhile.
    const asBob = await startMount(server.url, ['--cache-ttl', '0'], { apiKey: BOB.api_keys[0] });
    try {
      const dir = path.join(asBob.mountpoint, 'alice-private');
      const attrs = await stat(dir);
      assert.deepEqual([attrs.isDirectory(), attrs.mode & 0o7777, attrs.uid], [true, 0o700, ALICE.uid]);
      assert.equal(await errCode(readdir(dir)), 'EACCES');
      const file = path.join(asBob.mountpoint, 'alice-secret.txt');
      const fileAttrs = await stat(file);
      assert.deepEqual([fileAttrs.isFile(), fileAttrs.mode & 0o7777, fileAttrs.uid, fileAttrs.size], [true, 0o600, ALICE.uid, 6]);
      assert.equal(await errCode(readFile(file)), 'EACCES');
    } finally {
      await asBob.stop();
    }
  });

  it('makes mkdir, rename, chmod, chown and rmdir visible over REST at once', async () => {
    await sh(`mkdir ${mnt('d')} && mkdir -m 0750 ${mnt('d/sub')}`);
    assert.equal((await restHead('/d/sub')).headers.get('x-callfs-type'), 'directory');
    assert.equal((await restHead('/d/sub')).headers.get('x-callfs-mode'), '0750');
    await writeFile(mnt('d/f'), 'f');
    await sh(`chmod 0600 ${mnt('d/f')} && chown 1234:5678 ${mnt('d/f')}`);
    const head = await restHead('/d/f');
    assert.equal(head.headers.get('x-callfs-mode'), '0600');
    assert.equal(head.headers.get('x-callfs-uid'), '1234');
    assert.equal(head.headers.get('x-callfs-gid'), '5678');
    await rename(mnt('d/f'), mnt('d/sub/g'));
    assert.equal((await restHead('/d/f')).status, 404);
    assert.equal((await restBody('/d/sub/g')).toString(), 'f');
    await rename(mnt('d/sub'), mnt('d/moved'));
    assert.equal((await restBody('/d/moved/g')).toString(), 'f');
    await unlink(mnt('d/moved/g'));
    await sh(`rmdir ${mnt('d/moved')}`);
    assert.equal((await restHead('/d/moved')).status, 404);
    assert.deepEqual(await readdir(mnt('d')), []);
  });

  it('maps errors to errno and keeps POSIX rename rules', async () => {
    await sh(`mkdir -p ${mnt('e/full')} ${mnt('e/empty')} ${mnt('e/dir2')} && echo 1 > ${mnt('e/full/x')} && echo 2 > ${mnt('e/file')} && echo 3 > ${mnt('e/file2')}`);
    assert.equal(await errCode(readFile(mnt('e/missing'))), 'ENOENT');
    assert.match(await shFails(`mkdir ${mnt('e/full')}`), /File exists/);
    assert.match(await shFails(`rmdir ${mnt('e/full')}`), /not empty/);
    assert.match(await shFails(`rmdir ${mnt('e/file')}`), /Not a directory/);
    assert.equal(await errCode(rename(mnt('e/file'), mnt('e/empty'))), 'EISDIR');
    assert.equal(await errCode(rename(mnt('e/dir2'), mnt('e/file'))), 'ENOTDIR');
    assert.equal(await errCode(rename(mnt('e/dir2'), mnt('e/full'))), 'ENOTEMPTY');
    assert.equal((await restBody('/e/full/x')).toString(), '1\n', 'a refused rename leaves the target tree alone');
    await rename(mnt('e/dir2'), mnt('e/empty'));
    assert.equal((await restHead('/e/dir2')).status, 404);
    await rename(mnt('e/file2'), mnt('e/file'));
    assert.equal((await restBody('/e/file')).toString(), '3\n', 'rename over a file replaces it');
    assert.equal(await errCode(symlink('file', mnt('e/link'))), 'EPERM');
    assert.equal(await errCode(writeFile(mnt('e/nodir/x'), 'x')), 'ENOENT');
    assert.equal(await errCode(writeFile(mnt('e/file/x'), 'x')), 'ENOTDIR');
  });

  it('drops the pending writes of an open file that another file was renamed over', async () => {
    await writeFile(mnt('replacement'), 'the replacement');
    const fh = await open(mnt('replaced'), 'w');
    await fh.write('unflushed writes of the replaced file');
    await rename(mnt('replacement'), mnt('replaced'));
    await fh.close();
    assert.equal((await restBody('/replaced')).toString(), 'the replacement');
    assert.equal(await readFile(mnt('replaced'), 'utf8'), 'the replacement');
  });

  it('answers statfs (df) with the disk under the server content', async () => {
    const before = readDisk(server.dataDir);
    const out = await sh(`df -P -B1 ${mount.mountpoint} | tail -1`);
    const after = readDisk(server.dataDir);
    const [fs, size, , available] = out.trim().split(/\s+/).map((v, i) => (i === 0 ? v : Number(v))) as [string, number, number, number];
    assert.equal(fs, 'callfs');
    assert.ok(Math.abs(size - after.totalBytes) < 4096, `${out} against ${after.totalBytes} bytes`);
    assertFreeSpaceBetween(available, before.availableBytes, after.availableBytes, 'df on the mount');
  });

  it('shows changes made over REST within the cache TTL', async () => {
    await writeFile(mnt('shared.txt'), 'from the mount');
    assert.equal(await readFile(mnt('shared.txt'), 'utf8'), 'from the mount');
    assert.equal((await server.request('PUT', '/v1/files/shared.txt', { body: 'changed over REST' })).status, 200);
    assert.equal((await server.request('POST', '/v1/files/rest-dir/')).status, 201);
    const start = Date.now();
    await waitFor('the REST write to show in the mount', async () => (await readFile(mnt('shared.txt'), 'utf8')) === 'changed over REST', 10_000);
    await waitFor('the REST mkdir to show in the mount', async () => (await readdir(mount.mountpoint)).includes('rest-dir'), 10_000);
    assert.equal((await server.request('DELETE', '/v1/files/shared.txt')).status, 204);
    await waitFor('the REST delete to show in the mount', async () => (await errCode(stat(mnt('shared.txt')))) === 'ENOENT', 10_000);
    // TTL 1 s for our cache plus 1 s for the kernel's: well under 5 s even on a busy machine.
    assert.ok(Date.now() - start < 5000, `took ${Date.now() - start} ms`);
  });

  it('refuses changes on a --read-only mount with EROFS; passes -o allow_other', async () => {
    const ro = await startMount(server.url, ['--read-only', '-o', 'allow_other']);
    try {
      const options = (await readFile('/proc/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === ro.mountpoint)?.split(' ')[3] ?? '';
      assert.match(options, /(^|,)ro(,|$)/);
      assert.match(options, /allow_other/);
      assert.equal(await readFile(path.join(ro.mountpoint, 'bin')).then((b) => b.length), 9 * 1024 * 1024 + 123);
      assert.equal(await errCode(writeFile(path.join(ro.mountpoint, 'new'), 'x')), 'EROFS');
      assert.match(await shFails(`mkdir ${path.join(ro.mountpoint, 'nd')}`), /Read-only/);
      assert.match(await shFails(`touch -m ${path.join(ro.mountpoint, 'bin')}`), /Read-only/);
    } finally {
      await ro.stop();
    }
  });
});
