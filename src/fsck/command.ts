import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import { openBackends, openMetadataStore } from '../vfs/build.js';
import { fsck, hasProblems, type FsckReport } from './fsck.js';

export const FSCK_EXIT = { CLEAN: 0, PROBLEMS: 1, FAILED: 2 } as const;

export interface FsckCommandOptions {
  repair: boolean;
  graceSeconds: number;
  write: (line: string) => void;
}

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 7200 ? `${Math.round(s / 3600)}h` : s >= 120 ? `${Math.round(s / 60)}m` : `${s}s`;
}

export function formatReport(report: FsckReport, nowMs: number): string[] {
  const lines: string[] = [];
  for (const o of report.orphans) lines.push(`orphan    ${o.backend} ${o.key} ${o.size} bytes, ${age(nowMs - o.mtimeMs)} old${o.removed ? ' — removed' : ''}`);
  for (const m of report.missing) lines.push(`missing   ${m.backend} ${m.blobKey} ${m.size} bytes for ${m.path ?? `node ${m.nodeId}`}${m.marked ? ' — marked (file emptied, property urn:callfs:fsck content-lost)' : ''}`);
  for (const s of report.sizeMismatches) lines.push(`size      ${s.backend} ${s.blobKey} for ${s.path ?? `node ${s.nodeId}`}: metadata says ${s.size} bytes, backend holds ${s.actualSize}`);
  for (const s of report.skipped) lines.push(`skipped   ${s}`);
  const problems = report.orphans.length + report.missing.length + report.sizeMismatches.length;
  lines.push(
    `checked ${report.refsChecked} reference(s) against ${report.blobsSeen} blob(s) in ${report.checkedBackends.join(', ') || 'no backend'}: ` +
      (problems ? `${report.orphans.length} orphan(s), ${report.missing.length} missing, ${report.sizeMismatches.length} size mismatch(es)` : 'clean') +
      (report.youngOrphans ? `; ${report.youngOrphans} unreferenced blob(s) within the grace period left alone` : ''),
  );
  return lines;
}

/** `callfs fsck`: 0 clean, 1 problems found (or repaired, and listed), 2 could not run. */
export async function runFsckCommand(config: Config, options: FsckCommandOptions): Promise<number> {
  let store;
  let backends;
  try {
    store = await openMetadataStore(config);
    backends = await openBackends(config, store);
    const report = await fsck(store, backends, {
      instanceId: config.instance_discovery.instance_id ?? hostname(),
      graceMs: options.graceSeconds * 1000,
      removeOrphans: options.repair,
      markMissing: options.repair,
    });
    for (const line of formatReport(report, Date.now())) options.write(line);
    return hasProblems(report) ? FSCK_EXIT.PROBLEMS : FSCK_EXIT.CLEAN;
  } catch (err) {
    options.write(`fsck could not run: ${err instanceof Error ? err.message : String(err)}`);
    return FSCK_EXIT.FAILED;
  } finally {
    await backends?.close().catch(() => {});
    await store?.close().catch(() => {});
  }
}
