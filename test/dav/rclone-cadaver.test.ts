import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN_KEY, startTestServer, type TestServer } from '../helpers/server.js';
import { dav, propfindBody, run } from './dav-client.js';

let server: TestServer;
let work: string;
before(async () => {
  server = await startTestServer();
  work = mkdtempSync(path.join(tmpdir(), 'callfs-dav-clients-'));
});
after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

test('rclone copy of a generated tree to a webdav remote, then rclone check --download', { timeout: 300_000 }, async () => {
  const src = path.join(work, 'tree');
  const sizes = [0, 1, 1000, 65_536, 1_000_003, 3_000_000];
  for (const dir of ['', 'a', 'a/b', 'with space', 'ünïcødé']) {
    mkdirSync(path.join(src, dir), { recursive: true });
    sizes.forEach((size, i) => writeFileSync(path.join(src, dir, `file-${i}${i === 2 ? ' x' : ''}.bin`), randomBytes(size)));
  }
  const obscured = await run('rclone', ['obscure', ADMIN_KEY]);
  assert.equal(obscured.code, 0, obscured.stderr);
  const env = {
    ...process.env,
    RCLONE_CONFIG: path.join(work, 'rclone.conf'),
    RCLONE_CONFIG_CALLFS_TYPE: 'webdav',
    RCLONE_CONFIG_CALLFS_URL: `${server.url}/dav/`,
    RCLONE_CONFIG_CALLFS_VENDOR: 'other',
    RCLONE_CONFIG_CALLFS_USER: 'rclone',
    RCLONE_CONFIG_CALLFS_PASS: obscured.stdout.trim(),
  };
  const copy = await run('rclone', ['copy', src, 'callfs:tree', '--transfers', '4'], { env });
  assert.equal(copy.code, 0, copy.stderr);
  const check = await run('rclone', ['check', '--download', src, 'callfs:tree'], { env });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stderr, /0 differences found/);
  assert.match(check.stderr, /30 matching files/);
  const size = await run('rclone', ['size', 'callfs:tree', '--json'], { env });
  assert.equal(JSON.parse(size.stdout).count, 30);
});

test('cadaver script: mkcol, put, propset/propget, lock, discover, unlock, move, rm', { timeout: 120_000 }, async () => {
  const home = path.join(work, 'cadaver-home');
  mkdirSync(home, { recursive: true });
  const host = new URL(server.url).hostname;
  writeFileSync(path.join(home, '.netrc'), `machine ${host}\nlogin cadaver\npassword ${ADMIN_KEY}\n`, { mode: 0o600 });
  const local = path.join(work, 'cadaver-upload.txt');
  writeFileSync(local, 'uploaded by cadaver\n');
  const script = [
    'mkcol cad',
    'cd cad',
    `put ${local} up.txt`,
    'propset up.txt color blue',
    'propget up.txt color',
    'lock up.txt',
    'discover up.txt',
    'unlock up.txt',
    'move up.txt moved.txt',
    'ls',
    'cat moved.txt',
    'rm moved.txt',
    'ls',
    'quit',
  ].join('\n');
  const result = await run('cadaver', [`${server.url}/dav/`], { env: { ...process.env, HOME: home }, input: script + '\n', timeoutMs: 60_000 });
  const out = result.stdout + result.stderr;
  assert.doesNotMatch(out, /failed|Could not|Authentication required/i, out);
  assert.match(out, /Creating `cad': succeeded/, out);
  assert.match(out, /Uploading .* to `\/dav\/cad\/up.txt':[\s\S]*succeeded/, out);
  assert.match(out, /Setting property on `up.txt': succeeded/, out);
  assert.match(out, /Value of color is: blue/, out);
  assert.match(out, /Locking `up.txt': succeeded/, out);
  assert.match(out, /Lock token <urn:uuid:/, out);
  assert.match(out, /Unlocking `up.txt': succeeded/, out);
  assert.match(out, /Moving `\/dav\/cad\/up.txt' to `\/dav\/cad\/moved.txt':\s+succeeded/, out);
  assert.match(out, /uploaded by cadaver/, out);
  assert.match(out, /Deleting `moved.txt':\s+succeeded/, out);
  assert.equal((await dav(server, 'PROPFIND', '/dav/cad/', { headers: { depth: '1' }, body: propfindBody('<D:resourcetype/>') })).status, 207);
  assert.equal((await dav(server, 'GET', '/dav/cad/moved.txt')).status, 404);
});
