import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sh, startMount, type TestMount } from './mount-helper.js';

/** Ordinary tools over the mount: cp -r + diff -r, tar x into it and tar c out of it. */
describe('callfs mount: trees with cp, diff and tar', () => {
  let server: TestServer;
  let mount: TestMount;
  let work: string;

  before(async () => {
    server = await startTestServer();
    mount = await startMount(server.url);
    work = await mkdtemp(path.join(tmpdir(), 'callfs-fuse-tree-'));
  });

  after(async () => {
    await mount?.stop();
    await server?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('cp -r of 2000 small files, then diff -r finds no difference', async () => {
    // 40 directories × 50 files, sizes 0..4 KiB, content that differs per file (written locally, not through the mount).
    for (let d = 1; d <= 40; d++) {
      mkdirSync(path.join(work, 'src', `dir${d}`), { recursive: true });
      for (let f = 1; f <= 50; f++) writeFileSync(path.join(work, 'src', `dir${d}`, `file${f}.bin`), randomBytes(((d * 50 + f) * 37) % 4096));
    }
    await sh(`cp -r ${work}/src ${mount.mountpoint}/copy`, 300_000);
    await sh(`diff -r ${work}/src ${mount.mountpoint}/copy`, 300_000);
    assert.equal((await sh(`find ${mount.mountpoint}/copy -type f | wc -l`)).trim(), '2000');
    const listing = (await (await server.request('GET', '/v1/directories/copy/dir7')).json()) as { count: number };
    assert.equal(listing.count, 50);
  });

  it('tar x into the mount and tar c out of it keep content, modes and mtimes', async () => {
    const manifest = (dir: string) => `cd ${dir} && find . -mindepth 1 -type f -printf '%P %s %m %T@\\n' | sort && find . -mindepth 1 -type f -print0 | sort -z | xargs -0 sha256sum`;
    await sh(
      `cd ${work} && mkdir -p tsrc/a/b tsrc/c && for i in $(seq 1 30); do head -c $((i * 1000)) /dev/urandom > tsrc/a/f$i; done && head -c 3000000 /dev/urandom > tsrc/c/big && echo hi > tsrc/a/b/small && chmod 0640 tsrc/a/f3 && chmod 0755 tsrc/c/big && ` +
        `find tsrc -type f -exec touch -m -d '2003-04-05 06:07:08 UTC' {} + && touch -m -d '2011-11-11 11:11:11 UTC' tsrc/a/f7 && tar -C tsrc -cf src.tar .`,
    );
    await sh(`mkdir ${mount.mountpoint}/tarred && tar -C ${mount.mountpoint}/tarred -xf ${work}/src.tar`, 120_000);
    const source = await sh(manifest(`${work}/tsrc`));
    assert.equal(await sh(manifest(`${mount.mountpoint}/tarred`)), source, 'extracted into the mount');
    const head = await server.request('HEAD', '/v1/files/tarred/a/f7');
    assert.equal(head.headers.get('x-callfs-mtime'), '2011-11-11T11:11:11.000Z');
    assert.equal((await server.request('HEAD', '/v1/files/tarred/a/f3')).headers.get('x-callfs-mode'), '0640');
    await sh(`tar -C ${mount.mountpoint}/tarred -cf ${work}/out.tar . && mkdir ${work}/out && tar -C ${work}/out -xf ${work}/out.tar`, 120_000);
    assert.equal(await sh(manifest(`${work}/out`)), source, 'tar c out of the mount');
  });
});
