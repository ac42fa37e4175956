/**
 * `npm run bench`: CallFS against Apache mod_dav, rclone serve webdav and nginx
 * (static GET only) on loopback, same workloads, several rounds (each round runs
 * every server in turn); medians, and the median of CallFS's per-round ratios to
 * the best reference of the same round.
 *
 * The large file's transfers go through curl (large-transfer.ts), the rest through the Node client in client.ts.
 *
 * Environment: BENCH_ROUNDS (3), BENCH_LARGE_MB (1024), BENCH_SMALL_COUNT (5000),
 * BENCH_PROPFIND_ENTRIES (10000), BENCH_ONLY (comma-separated server names).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fuseWorkloads } from './fuse.js';
import { uploadSource } from './large-transfer.js';
import { prepareForLargeWrite } from './page-cache.js';
import { BENCH_KEY, has, startApache, startCallFs, startNginx, startRclone, type BenchServer } from './servers.js';
import { largeFile, populateCollection, propfind, restOps, smallFiles, type Figure, type Settings } from './workloads.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings: Settings = {
  largeBytes: env('BENCH_LARGE_MB', 1024) * 1024 * 1024,
  smallCount: env('BENCH_SMALL_COUNT', 5000),
  propfindEntries: env('BENCH_PROPFIND_ENTRIES', 10_000),
};
const rounds = env('BENCH_ROUNDS', 3);
const DISK = 'disk (dd, fsync)';
const only = process.env.BENCH_ONLY?.split(',');

interface Candidate {
  name: string;
  binary: string | null;
  aptPackage: string | null;
  start: (dir: string) => Promise<BenchServer>;
  /** nginx serves static files: no PUT, no PROPFIND. */
  readOnly: boolean;
}

const candidates: Candidate[] = [
  { name: 'callfs', binary: null, aptPackage: null, start: startCallFs, readOnly: false },
  { name: 'apache-mod_dav', binary: 'apache2', aptPackage: 'apache2', start: startApache, readOnly: false },
  { name: 'rclone-webdav', binary: 'rclone', aptPackage: 'rclone', start: startRclone, readOnly: false },
  { name: 'nginx-static', binary: 'nginx', aptPackage: 'nginx', start: startNginx, readOnly: true },
];

/** Installs a Debian package; returns apt's exit status. */
function aptInstall(aptPackage: string): number | null {
  return spawnSync('sh', ['-c', `apt-get install -y -qq --no-install-recommends ${aptPackage} >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends ${aptPackage} >/dev/null 2>&1)`], { stdio: 'inherit' }).status;
}

function ensureInstalled(c: Candidate, skipped: Record<string, string>): boolean {
  if (!c.binary || has(c.binary)) return true;
  console.error(`${c.binary} is missing; installing Debian package ${c.aptPackage} …`);
  const status = aptInstall(c.aptPackage!);
  if (status === 0 && has(c.binary)) return true;
  skipped[c.name] = `could not install ${c.aptPackage} with apt (exit ${status})`;
  return false;
}

/** curl is the client of the large-file workloads (see large-transfer.ts): without it there is no run. */
function ensureCurl(): void {
  if (has('curl')) return;
  console.error('curl is missing; installing Debian package curl …');
  const status = aptInstall('curl');
  if (status !== 0 || !has('curl')) throw new Error(`curl, the large-file workloads' client, is missing and apt could not install it (exit ${status})`);
}

/**
 * The disk itself, for PUT of the large file: `dd` writing as much with one fsync at the end, in the
 * filesystem the servers use. Returns the figure, or why it could not be taken.
 */
function measureDisk(root: string, bytes: number): Figure | string {
  const mb = bytes / (1024 * 1024);
  const file = path.join(root, 'disk.bin');
  // The same state as before each server's large PUT.
  prepareForLargeWrite(root, bytes);
  const started = performance.now();
  const dd = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mb}`, 'conv=fsync', 'status=none']);
  const seconds = (performance.now() - started) / 1000;
  rmSync(file, { force: true });
  if (dd.status !== 0) return `dd failed: ${dd.stderr.toString().trim()}`;
  return { workload: `PUT ${mb} MiB`, unit: 'MiB/s', value: mb / seconds };
}

/** The end of a server's error log, for the report of a server that failed. */
function logTail(file: string | undefined): string {
  if (!file || !existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20);
  return lines.length && lines[0] ? `\n  last lines of ${path.basename(file)}:\n    ${lines.join('\n    ')}` : '';
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Samples {
  unit: string;
  lowerIsBetter: boolean;
  values: number[];
  /** The round each value was taken in. */
  rounds: number[];
}

interface Running {
  candidate: Candidate;
  server: BenchServer;
  dir: string;
  /** Named in the report if the server fails there. */
  phase: string;
}

/**
 * The median over the rounds of CallFS's figure against the best of the others' figures taken in the
 * same round (the references', or the disk's), oriented so that above 1 means CallFS did better.
 */
function roundRatio(mine: Samples | undefined, others: Array<Samples | undefined>, lowerIsBetter: boolean): number | null {
  if (!mine) return null;
  const ratios: number[] = [];
  mine.rounds.forEach((round, i) => {
    const theirs = others.flatMap((o) => {
      const j = o ? o.rounds.indexOf(round) : -1;
      return j >= 0 ? [o!.values[j]!] : [];
    });
    if (theirs.length === 0) return;
    const best = lowerIsBetter ? Math.min(...theirs) : Math.max(...theirs);
    ratios.push(lowerIsBetter ? best / mine.values[i]! : mine.values[i]! / best);
  });
  return ratios.length ? median(ratios) : null;
}

async function main(): Promise<void> {
  ensureCurl();
  const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const root = mkdtempSync(path.join(tmpdir(), 'callfs-bench-'));
  // Made before anything is measured: writing it later would put a GiB of writeback in front of one server's round.
  const largeFiles = { source: uploadSource(root, settings.largeBytes), scratchDir: root };
  const skipped: Record<string, string> = {};
  const samples = new Map<string, Map<string, Samples>>();
  const peakRss: Record<string, number> = {};
  const record = (server: string, round: number, figures: Figure[], rssKb?: number) => {
    if (rssKb !== undefined) console.error(`[${server}] ${figures.map((f) => f.workload).join(', ')}: peak RSS so far ${Math.round(rssKb / 1024)} MiB`);
    const byWorkload = samples.get(server) ?? new Map();
    samples.set(server, byWorkload);
    for (const f of figures) {
      const entry = byWorkload.get(f.workload) ?? { unit: f.unit, lowerIsBetter: Boolean(f.lowerIsBetter), values: [], rounds: [] };
      entry.values.push(f.value);
      entry.rounds.push(round);
      byWorkload.set(f.workload, entry);
    }
  };
  /** Stops a server that failed, and names the request, workload and log lines it failed with. */
  const fail = async (entry: Running, err: unknown) => {
    skipped[entry.candidate.name] = `failed during the run (${entry.phase}): ${(err as Error).stack ?? err}${logTail(entry.server.errorLog)}`;
    await entry.server.stop();
  };

  // Every server is started and warmed up first; each round then runs every server's workloads one server after
  // the other, so that all of a round's figures are taken within minutes of each other: a shared machine's speed
  // drifts over a run, and a server measured in a quiet spell would otherwise beat one measured in a busy one.
  const running: Running[] = [];
  for (const c of candidates) {
    if (only && !only.includes(c.name)) continue;
    if (!ensureInstalled(c, skipped)) continue;
    const dir = path.join(root, c.name);
    mkdirSync(dir, { recursive: true });
    let server: BenchServer;
    try {
      server = await c.start(dir);
    } catch (err) {
      skipped[c.name] = `failed to start: ${(err as Error).message}`;
      continue;
    }
    const entry: Running = { candidate: c, server, dir, phase: 'populating' };
    try {
      console.error(`[${c.name}] populating ${settings.propfindEntries} entries …`);
      if (!c.readOnly) await populateCollection(server, settings);
      entry.phase = 'warming up';
      // Unmeasured pass: the client's and a JIT-compiled server's code paths are warm before the first measured
      // round, as they are in a server that has been up for a while (native servers are unaffected).
      console.error(`[${c.name}] warming up …`);
      await smallFiles(server, { ...settings, smallCount: Math.min(settings.smallCount, 2000) }, !c.readOnly, 'warm-up');
      if (!c.readOnly) await propfind(server, settings);
      running.push(entry);
    } catch (err) {
      await fail(entry, err);
    }
  }

  for (let round = 1; round <= rounds; round++) {
    // The order turns each round, so no server is always the one that follows another's writes.
    const alive = running.filter((r) => !skipped[r.candidate.name]);
    const order = alive.map((_, i) => alive[(i + round - 1) % alive.length]!);
    for (const entry of order) {
      const { candidate: c, server } = entry;
      try {
        console.error(`[${c.name}] round ${round}/${rounds}`);
        if (c.name === 'callfs' && !skipped.disk) {
          // The disk's own speed, measured next to the PUT it is compared with: on a shared machine
          // it drifted from 300 to 1,800 MB/s within minutes, so a figure taken later would not compare.
          entry.phase = `round ${round}, disk`;
          const disk = measureDisk(root, settings.largeBytes);
          if (typeof disk === 'string') skipped.disk = disk;
          else record(DISK, round, [disk]);
        }
        entry.phase = `round ${round}, large file`;
        record(c.name, round, await largeFile(server, settings, !c.readOnly, largeFiles), server.peakRssKb());
        entry.phase = `round ${round}, small files`;
        record(c.name, round, await smallFiles(server, settings, !c.readOnly, `round-${round}`), server.peakRssKb());
        entry.phase = `round ${round}, PROPFIND`;
        if (!c.readOnly) record(c.name, round, await propfind(server, settings), server.peakRssKb());
        if (c.name === 'callfs') {
          entry.phase = `round ${round}, REST`;
          record(c.name, round, await restOps(server.dav!.replace(/\/dav$/, ''), BENCH_KEY, 1000), server.peakRssKb());
          entry.phase = `round ${round}, FUSE`;
          record(c.name, round, await fuseWorkloads(server.dav!.replace(/\/dav$/, ''), BENCH_KEY, path.join(entry.dir, 'fuse'), settings), server.peakRssKb());
        }
      } catch (err) {
        await fail(entry, err);
      }
    }
  }
  for (const entry of running) {
    if (skipped[entry.candidate.name]) continue;
    peakRss[entry.candidate.name] = entry.server.peakRssKb();
    await entry.server.stop();
  }

  // Report: medians, and CallFS against the best reference of each round (nginx for GET of large files).
  const workloads = [...new Set([...samples.values()].flatMap((m) => [...m.keys()]))];
  const rows: Array<Record<string, string | number | null>> = [];
  const json: Record<string, unknown> = { date: new Date().toISOString(), settings, rounds, peak_rss_kb: peakRss, skipped, workloads: {} };
  for (const w of workloads) {
    const row: Record<string, string | number | null> = { workload: w };
    const medians: Record<string, number> = {};
    let unit = '';
    let lowerIsBetter = false;
    for (const [server, m] of samples) {
      const e = m.get(w);
      if (!e) continue;
      unit = e.unit;
      lowerIsBetter = e.lowerIsBetter;
      medians[server] = median(e.values);
      row[server] = Number(medians[server]!.toFixed(3));
    }
    const refNames = w.startsWith('GET ') && w.includes('MiB') ? ['nginx-static'] : ['apache-mod_dav', 'rclone-webdav'];
    const ratio = roundRatio(samples.get('callfs')?.get(w), refNames.map((n) => samples.get(n)?.get(w)), lowerIsBetter);
    row.unit = unit;
    row['callfs ÷ best ref'] = ratio === null ? null : Number(ratio.toFixed(2));
    const diskRatio = roundRatio(samples.get('callfs')?.get(w), [samples.get(DISK)?.get(w)], false);
    row['callfs ÷ disk'] = diskRatio === null ? null : Number(diskRatio.toFixed(2));
    rows.push(row);
    (json.workloads as Record<string, unknown>)[w] = {
      unit,
      lower_is_better: lowerIsBetter,
      medians,
      samples: Object.fromEntries([...samples].map(([s, m]) => [s, m.get(w)?.values ?? null])),
      ratio_vs_best_reference: ratio,
      ratio_vs_disk: row['callfs ÷ disk'],
    };
  }
  console.table(rows);
  console.log('peak RSS (MiB):', Object.fromEntries(Object.entries(peakRss).map(([k, v]) => [k, Math.round(v / 1024)])));
  for (const [name, why] of Object.entries(skipped)) console.log(`skipped ${name}: ${why}`);
  mkdirSync('bench/results', { recursive: true });
  const out = path.join('bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify(json, null, 2));
  console.log(`results written to ${out}`);
  rmSync(root, { recursive: true, force: true });
}

await main();
