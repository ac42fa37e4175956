import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import { agentFor, request, runConcurrent, type Target } from './client.js';
import { putThenGet } from './large-transfer.js';
import { prepareForLargeWrite } from './page-cache.js';
import type { BenchServer } from './servers.js';

export interface Settings {
  largeBytes: number;
  smallCount: number;
  propfindEntries: number;
}

/** One measured figure: higher is better unless `lowerIsBetter`. */
export interface Figure {
  workload: string;
  unit: string;
  value: number;
  lowerIsBetter?: boolean;
}

const SMALL = Buffer.alloc(4096, 0x61);
const propfindBody = Buffer.from('<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>');

function target(server: BenchServer): Target {
  return { base: server.dav!, headers: server.headers };
}

async function mkcol(agent: http.Agent, t: Target, p: string): Promise<void> {
  const r = await request(agent, t, 'MKCOL', p);
  if (r.status !== 201 && r.status !== 405) throw new Error(`MKCOL ${p} → ${r.status}`);
}

/** Where the large PUT's body is read from (uploadSource), and where the page-cache primer is written (prepareForLargeWrite). */
export interface LargeFileFiles {
  source: string;
  scratchDir: string;
}

export async function largeFile(server: BenchServer, s: Settings, canWrite: boolean, files: LargeFileFiles): Promise<Figure[]> {
  const t = target(server);
  const mb = s.largeBytes / (1024 * 1024);
  const source = canWrite ? files.source : null;
  if (canWrite) {
    // As before dd: nothing left dirty by earlier workloads (the warm-up writes thousands of small files,
    // and some servers write without fsync), and page-cache memory freed a moment ago.
    prepareForLargeWrite(files.scratchDir, s.largeBytes);
  } else {
    writeFileSync(path.join(server.docroot!, 'large.bin'), Buffer.alloc(0));
    const fd = await import('node:fs/promises').then((fs) => fs.open(path.join(server.docroot!, 'large.bin'), 'w'));
    const block = Buffer.alloc(1024 * 1024, 0x5a);
    for (let written = 0; written < s.largeBytes; written += block.length) await fd.write(block, 0, Math.min(block.length, s.largeBytes - written));
    await fd.close();
  }
  const { put, get } = await putThenGet(t, '/large.bin', source);
  const figures: Figure[] = [];
  if (put) {
    if (put.status >= 300 || put.bytes !== s.largeBytes) throw new Error(`${server.name}: PUT large → ${put.status} after ${put.bytes} bytes`);
    figures.push({ workload: `PUT ${mb} MiB`, unit: 'MiB/s', value: mb / put.seconds });
  }
  if (get.status !== 200 || get.bytes !== s.largeBytes) throw new Error(`${server.name}: GET large → ${get.status} with ${get.bytes} bytes`);
  figures.push({ workload: `GET ${mb} MiB`, unit: 'MiB/s', value: mb / get.seconds });
  if (canWrite) {
    const agent = agentFor(1);
    await request(agent, t, 'DELETE', '/large.bin');
    agent.destroy();
  } else rmSync(path.join(server.docroot!, 'large.bin'));
  return figures;
}

/**
 * PUT, then GET, of `smallCount` 4 KiB files at concurrency 8 and 64, into directories named after
 * `pass` ('warm-up', 'round-1', …). Nothing is deleted until the run is over. On ext4 without a journal,
 * as on the machine these figures were first taken on, the kernel will not reuse an inode deleted less
 * than a minute ago (five, while its inode table block is unwritten), and it steps over each such inode
 * one by one: creating 5,000 files there cost 120–230 µs of kernel time per file right after 5,000
 * were deleted, and 10–14 µs otherwise. Deleting each pass's files made the servers that store files as
 * files (Apache, rclone) pay that, by an amount that depended on the order of the run.
 */
export async function smallFiles(server: BenchServer, s: Settings, canWrite: boolean, pass: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const t = target(server);
  for (const concurrency of [8, 64]) {
    const agent = agentFor(concurrency);
    const dir = `/small-${pass}-c${concurrency}`;
    if (canWrite) {
      await mkcol(agent, t, dir);
      // As before the large PUT: the disk is not still writing back what earlier workloads left dirty.
      spawnSync('sync');
      const rate = await runConcurrent(s.smallCount, concurrency, async (i) => {
        const r = await request(agent, t, 'PUT', `${dir}/f${i}.bin`, SMALL);
        if (r.status >= 300) throw new Error(`${server.name}: PUT 4 KiB → ${r.status}`);
      });
      figures.push({ workload: `PUT 4 KiB c${concurrency}`, unit: 'req/s', value: rate });
    } else {
      mkdirSync(path.join(server.docroot!, dir), { recursive: true });
      for (let i = 0; i < s.smallCount; i++) writeFileSync(path.join(server.docroot!, dir, `f${i}.bin`), SMALL);
    }
    const rate = await runConcurrent(s.smallCount, concurrency, async (i) => {
      const r = await request(agent, t, 'GET', `${dir}/f${i}.bin`);
      if (r.status !== 200 || r.body.length !== SMALL.length) throw new Error(`${server.name}: GET 4 KiB → ${r.status}`);
    });
    figures.push({ workload: `GET 4 KiB c${concurrency}`, unit: 'req/s', value: rate });
    agent.destroy();
  }
  return figures;
}

/** Populates a collection of `entries` files once per server (through the server when it has no docroot). */
export async function populateCollection(server: BenchServer, s: Settings): Promise<void> {
  if (server.docroot) {
    mkdirSync(path.join(server.docroot, 'many'), { recursive: true });
    for (let i = 0; i < s.propfindEntries; i++) writeFileSync(path.join(server.docroot, 'many', `entry-${i}.txt`), 'x');
    // Files made behind the server's back must be writable by its workers (Apache runs as www-data).
    spawnSync('chown', ['-R', '--reference', server.docroot, path.join(server.docroot, 'many')]);
    return;
  }
  const agent = agentFor(16);
  const t = target(server);
  await mkcol(agent, t, '/many');
  await runConcurrent(s.propfindEntries, 16, async (i) => {
    const r = await request(agent, t, 'PUT', `/many/entry-${i}.txt`, Buffer.from('x'));
    if (r.status >= 300) throw new Error(`populate → ${r.status}`);
  });
  agent.destroy();
}

export async function propfind(server: BenchServer, s: Settings): Promise<Figure[]> {
  const agent = agentFor(1);
  const t = target(server);
  const started = performance.now();
  const r = await request(agent, t, 'PROPFIND', '/many/', propfindBody, { depth: '1', 'content-type': 'application/xml' });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 207) throw new Error(`${server.name}: PROPFIND → ${r.status}`);
  const responses = (r.body.toString('utf8').match(/<([A-Za-z0-9]+:)?response[\s>]/g) ?? []).length;
  if (responses !== s.propfindEntries + 1) throw new Error(`${server.name}: PROPFIND listed ${responses - 1} of ${s.propfindEntries} entries`);
  agent.destroy();
  return [{ workload: `PROPFIND depth 1, ${s.propfindEntries} entries`, unit: 's', value: seconds, lowerIsBetter: true }];
}

/** CallFS alone: metadata operations per second over REST. */
export async function restOps(base: string, key: string, count: number): Promise<Figure[]> {
  const agent = agentFor(8);
  const t: Target = { base: `${base}/v1/files`, headers: { authorization: `Bearer ${key}` } };
  const json = { 'content-type': 'application/json' };
  await request(agent, t, 'POST', '/ops/');
  const mkdir = await runConcurrent(count, 8, async (i) => {
    const r = await request(agent, t, 'POST', `/ops/d${i}/`);
    if (r.status !== 201) throw new Error(`mkdir → ${r.status}`);
  });
  const stat = await runConcurrent(count, 8, async (i) => {
    const r = await request(agent, t, 'HEAD', `/ops/d${i}`);
    if (r.status !== 200) throw new Error(`stat → ${r.status}`);
  });
  const rename = await runConcurrent(count, 8, async (i) => {
    const r = await request(agent, t, 'PATCH', `/ops/d${i}`, Buffer.from(JSON.stringify({ destination: `/ops/r${i}` })), json);
    if (r.status !== 200) throw new Error(`rename → ${r.status}`);
  });
  await request(agent, t, 'DELETE', '/ops?recursive=true');
  agent.destroy();
  return [
    { workload: 'REST stat', unit: 'ops/s', value: stat },
    { workload: 'REST mkdir', unit: 'ops/s', value: mkdir },
    { workload: 'REST rename', unit: 'ops/s', value: rename },
  ];
}
