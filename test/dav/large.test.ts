import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ROOT_PRINCIPAL } from '../../src/vfs/types.js';
import { ADMIN_KEY, startTestServer } from '../helpers/server.js';
import { ADMIN_BASIC } from './dav-client.js';

test('PROPFIND Depth 1 on a 10,000-entry collection is answered completely and streamed', { timeout: 300_000 }, async (t) => {
  const server = await startTestServer({ config: { backend: { default_backend: 'noop' } } });
  try {
    const ctx = { principal: ROOT_PRINCIPAL };
    await server.server.vfs.mkdir(ctx, '/big');
    for (let i = 0; i < 10_000; i++) {
      await server.server.vfs.writeFile(ctx, `/big/entry-${String(i).padStart(5, '0')}.txt`, Readable.from([Buffer.from('x')]));
    }
    const props = '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>';
    const timings: number[] = [];
    for (const body of [props, props, undefined]) {
      const started = performance.now();
      const r = await fetch(`${server.url}/dav/big/`, { method: 'PROPFIND', headers: { depth: '1', authorization: ADMIN_BASIC }, body });
      assert.equal(r.status, 207);
      // Streamed: no Content-Length, the body arrives in many chunks.
      assert.equal(r.headers.get('content-length'), null);
      let chunks = 0;
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        chunks++;
        text += decoder.decode(chunk, { stream: true });
      }
      timings.push(performance.now() - started);
      assert.ok(chunks > 10, `expected a streamed body, got ${chunks} chunk(s)`);
      assert.equal(text.match(/<D:response>/g)!.length, 10_001);
      assert.ok(text.includes('<D:href>/dav/big/entry-09999.txt</D:href>'));
      assert.ok(text.trimEnd().endsWith('</D:multistatus>'));
    }
    t.diagnostic(`PROPFIND Depth 1 of 10,000 entries: ${timings.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} (named props ×2, allprop)`);
  } finally {
    await server.close();
  }
});

function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
}

const vmHwmKb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

test('1 GiB PUT and GET through WebDAV with the server process under 200 MiB RSS (VmHWM)', { timeout: 900_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-dav-1g-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `data_dir: ${dir}/data\nserver:\n  listen_addr: 127.0.0.1:0\nauth:\n  api_keys: ["${ADMIN_KEY}"]\nlog:\n  level: warn\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'server', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CALLFS_LOG__LEVEL: 'info' } });
  try {
    const url = await waitForUrl(child);
    const total = 1024 * 1024 * 1024;
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
    const sent = createHash('sha256');
    let produced = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (produced >= total) return controller.close();
        const chunk = new Uint8Array(block.buffer, block.byteOffset, block.length);
        block[0] = (produced / block.length) & 0xff;
        sent.update(block);
        produced += block.length;
        controller.enqueue(new Uint8Array(chunk));
      },
    });
    const put = await fetch(`${url}/dav/one-gib.bin`, { method: 'PUT', headers: { authorization: ADMIN_BASIC, 'content-length': String(total) }, body, duplex: 'half' } as RequestInit);
    assert.equal(put.status, 201);
    const afterPut = vmHwmKb(child.pid!);
    const get = await fetch(`${url}/dav/one-gib.bin`, { headers: { authorization: ADMIN_BASIC } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-length'), String(total));
    const received = createHash('sha256');
    let n = 0;
    for await (const chunk of get.body as unknown as AsyncIterable<Uint8Array>) {
      received.update(chunk);
      n += chunk.length;
    }
    assert.equal(n, total);
    assert.equal(received.digest('hex'), sent.digest('hex'));
    const hwm = vmHwmKb(child.pid!);
    t.diagnostic(`server VmHWM after PUT: ${afterPut} kB, after GET: ${hwm} kB`);
    assert.ok(hwm < 204_800, `server peak RSS ${hwm} kB is over 200 MiB`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
