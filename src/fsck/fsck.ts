import type { Backend, BlobInfo } from '../vfs/backends/backend.js';
import type { BackendRegistry } from '../vfs/backends/registry.js';
import { newEtag } from '../vfs/etag.js';
import type { BlobRef, MetadataStore } from '../vfs/metadata/store.js';
import { ROOT_ID } from '../vfs/metadata/store.js';

/** The dead property fsck --repair sets on a file whose content was lost. */
export const CONTENT_LOST_PROPERTY = { namespace: 'urn:callfs:fsck', name: 'content-lost' } as const;

export interface FsckOptions {
  /** This node: its node-local backend holds only the blobs it wrote. */
  instanceId: string;
  /** Unreferenced blobs younger than this may be uploads whose metadata is not committed yet. */
  graceMs: number;
  /** Remove orphans older than the grace period. */
  removeOrphans?: boolean;
  /** Mark files whose blob is gone: size 0, no blob, and the content-lost dead property. */
  markMissing?: boolean;
  /** Which backends to walk (the background sweeper walks node-local ones only). */
  includeBackend?: (name: string, backend: Backend) => boolean;
  now?: () => number;
}

export interface Orphan extends BlobInfo {
  backend: string;
  removed: boolean;
}

export interface Missing extends BlobRef {
  path: string | null;
  marked: boolean;
}

export interface SizeMismatch extends BlobRef {
  path: string | null;
  actualSize: number;
}

export interface FsckReport {
  checkedBackends: string[];
  /** Backends not walked, and why (noop keeps nothing; another node's disk). */
  skipped: string[];
  blobsSeen: number;
  refsChecked: number;
  orphans: Orphan[];
  /** Unreferenced but inside the grace period: not a problem (yet). */
  youngOrphans: number;
  missing: Missing[];
  sizeMismatches: SizeMismatch[];
}

export function hasProblems(report: FsckReport): boolean {
  return report.orphans.length + report.missing.length + report.sizeMismatches.length > 0;
}

/**
 * Compares what the metadata references with what the backends hold.
 * Safe while the server runs: it only reports what stays true on a second
 * look (a missing blob is re-checked against the node and the backend, an
 * orphan against a fresh scan of the references) before acting on it.
 */
export async function fsck(store: MetadataStore, backends: BackendRegistry, options: FsckOptions): Promise<FsckReport> {
  const now = options.now ?? Date.now;
  const report: FsckReport = { checkedBackends: [], skipped: [], blobsSeen: 0, refsChecked: 0, orphans: [], youngOrphans: 0, missing: [], sizeMismatches: [] };
  const walked = new Map<string, Backend>();
  for (const [name, backend] of backends.entries()) {
    if (backend.type === 'noop') report.skipped.push(`${name} (noop keeps no content)`);
    else if (options.includeBackend && !options.includeBackend(name, backend)) report.skipped.push(`${name} (not swept here)`);
    else walked.set(name, backend);
  }

  // Phase 1: the references, first, so that a blob written after this snapshot can only look like a young orphan.
  const refs = new Map<string, Map<string, BlobRef>>([...walked.keys()].map((n) => [n, new Map()]));
  let foreign = 0;
  for await (const ref of store.blobRefs()) {
    const backend = walked.get(ref.backend);
    if (!backend) continue;
    if (backend.nodeLocal && ref.instanceId && ref.instanceId !== options.instanceId) {
      foreign++;
      continue;
    }
    refs.get(ref.backend)!.set(ref.blobKey, ref);
    report.refsChecked++;
  }
  if (foreign) report.skipped.push(`${foreign} blob(s) on other nodes' local disks (run fsck there)`);

  // Phase 2: what each backend holds.
  const candidates: Array<{ name: string; backend: Backend; blob: BlobInfo }> = [];
  for (const [name, backend] of walked) {
    report.checkedBackends.push(name);
    const expected = refs.get(name)!;
    for await (const blob of backend.list()) {
      report.blobsSeen++;
      const ref = expected.get(blob.key);
      if (ref) {
        expected.delete(blob.key);
        if (ref.size !== blob.size) report.sizeMismatches.push({ ...ref, path: await pathOf(store, ref.nodeId), actualSize: blob.size });
      } else if (now() - blob.mtimeMs < options.graceMs) {
        report.youngOrphans++;
      } else {
        candidates.push({ name, backend, blob });
      }
    }
  }

  // Phase 3: orphans, confirmed against a fresh scan (a commit may have landed since phase 1).
  if (candidates.length) {
    const referenced = new Set<string>();
    for await (const ref of store.blobRefs()) referenced.add(`${ref.backend}\0${ref.blobKey}`);
    for (const { name, backend, blob } of candidates) {
      if (referenced.has(`${name}\0${blob.key}`)) continue;
      let removed = false;
      if (options.removeOrphans) {
        await backend.delete(blob.key);
        removed = true;
      }
      report.orphans.push({ ...blob, backend: name, removed });
    }
  }

  // Phase 4: references whose blob was not listed, confirmed on the node and the backend.
  for (const [name, expected] of refs) {
    const backend = walked.get(name)!;
    for (const ref of expected.values()) {
      const node = await store.get(ref.nodeId);
      if (node?.blobKey !== ref.blobKey || node.backend !== name) continue;
      if (await backend.stat(ref.blobKey)) continue;
      const marked = options.markMissing ? await markMissing(store, ref, name, now()) : false;
      report.missing.push({ ...ref, path: await pathOf(store, ref.nodeId), marked });
    }
  }
  return report;
}

/**
 * A file whose content is gone becomes an empty file with a new ETag (so no
 * client keeps a cached copy as current) and a dead property saying what was
 * lost, visible through PROPFIND and fsck; it can be overwritten as usual.
 */
async function markMissing(store: MetadataStore, ref: BlobRef, backendName: string, nowMs: number): Promise<boolean> {
  return store.transaction(async (tx) => {
    const node = await tx.get(ref.nodeId);
    if (node?.blobKey !== ref.blobKey) return false;
    await tx.update(node.id, { size: 0, blobKey: null, backend: null, instanceId: null, etag: newEtag('f'), ctimeMs: nowMs });
    const { namespace, name } = CONTENT_LOST_PROPERTY;
    const text = `blob ${ref.blobKey} (${ref.size} bytes) was missing from backend ${backendName}; emptied by callfs fsck --repair at ${new Date(nowMs).toISOString()}`;
    await tx.patchProperties(node.id, [{ namespace, name, value: `<F:${name} xmlns:F="${namespace}">${text}</F:${name}>` }], []);
    return true;
  });
}

/** The path of a node, for reports (null if it is gone meanwhile). */
async function pathOf(store: MetadataStore, nodeId: number): Promise<string | null> {
  const names: string[] = [];
  let node = await store.get(nodeId);
  while (node && node.id !== ROOT_ID) {
    names.unshift(node.name);
    node = node.parentId === null ? null : await store.get(node.parentId);
  }
  return node ? '/' + names.join('/') : null;
}
