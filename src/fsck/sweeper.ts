import type { Logger } from 'pino';
import type { BackendRegistry } from '../vfs/backends/registry.js';
import type { MetadataStore } from '../vfs/metadata/store.js';
import { fsck } from './fsck.js';

export interface OrphanSweeperOptions {
  store: MetadataStore;
  backends: BackendRegistry;
  instanceId: string;
  intervalMs: number;
  graceMs: number;
  logger: Logger;
}

/**
 * Periodically removes blobs that no file references — left by a crash
 * between storing a blob and committing its metadata, or by a failed
 * cleanup. Only node-local backends are swept: each node sweeps its own disk,
 * and shared backends (S3) are left to `callfs fsck --repair`, run once for
 * the cluster. The grace period protects uploads whose metadata is not
 * committed yet.
 */
export class OrphanSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: OrphanSweeperOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One sweep; overlapping calls share the sweep in progress. */
  sweep(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const { store, backends, instanceId, graceMs, logger } = this.options;
    try {
      const report = await fsck(store, backends, { instanceId, graceMs, removeOrphans: true, includeBackend: (_name, b) => b.nodeLocal });
      for (const o of report.orphans) logger.info({ backend: o.backend, blob: o.key, size: o.size }, 'removed orphan blob');
      for (const m of report.missing) logger.warn({ backend: m.backend, blob: m.blobKey, path: m.path }, 'file content is missing from its backend; run callfs fsck');
      for (const s of report.sizeMismatches) logger.warn({ backend: s.backend, blob: s.blobKey, path: s.path, expected: s.size, actual: s.actualSize }, 'blob size differs from metadata; run callfs fsck');
    } catch (err) {
      logger.warn({ err }, 'orphan sweep failed');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
