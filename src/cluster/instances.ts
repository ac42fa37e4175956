import type { MetadataStore } from '../vfs/metadata/store.js';

export interface InstanceDirectoryOptions {
  store: MetadataStore;
  instanceId: string;
  /** instance_discovery.peer_endpoints; an entry that turns out to be this node is ignored. */
  staticPeers: readonly string[];
  heartbeatMs: number;
  /** Told when a heartbeat could not be written (the metadata store is down); the next one retries. */
  onHeartbeatError?: (err: unknown) => void;
  /** How long asking a static peer who it is may take. */
  probeTimeoutMs?: number;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * Where each node of the cluster can be reached. Nodes register their
 * endpoint with a heartbeat in the metadata store; static peer endpoints are
 * asked who they are (their /health names their instance_id) when the store
 * has no registration for an instance.
 */
export class InstanceDirectory {
  private endpoint: string | null = null;
  private readonly startedAtMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly staticIds = new Map<string, string>();

  constructor(private readonly options: InstanceDirectoryOptions) {}

  /** Starts registering `endpoint` (this node's advertised base URL) every heartbeat. */
  async start(endpoint: string): Promise<void> {
    this.endpoint = trimSlash(endpoint);
    await this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    if (!this.endpoint) return;
    try {
      await this.options.store.upsertInstance({ instanceId: this.options.instanceId, endpoint: this.endpoint, heartbeatAtMs: Date.now(), startedAtMs: this.startedAtMs });
    } catch (err) {
      this.options.onHeartbeatError?.(err);
    }
  }

  /** The base URL of an instance, or null when no registration or static peer names it. */
  async endpointOf(instanceId: string): Promise<string | null> {
    if (instanceId === this.options.instanceId) return this.endpoint;
    const registered = (await this.options.store.listInstances()).find((i) => i.instanceId === instanceId);
    if (registered) return registered.endpoint;
    return this.probeStaticPeers(instanceId);
  }

  private async probeStaticPeers(instanceId: string): Promise<string | null> {
    for (const raw of this.options.staticPeers) {
      const peer = trimSlash(raw);
      if (peer === this.endpoint) continue;
      let id = this.staticIds.get(peer);
      if (!id) {
        try {
          const res = await fetch(`${peer}/health`, { signal: AbortSignal.timeout(this.options.probeTimeoutMs ?? 3000) });
          const body = (await res.json()) as { instance_id?: unknown };
          if (typeof body.instance_id === 'string') this.staticIds.set(peer, (id = body.instance_id));
        } catch {
          continue;
        }
      }
      if (id === this.options.instanceId) continue;
      if (id === instanceId) return peer;
    }
    return null;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
