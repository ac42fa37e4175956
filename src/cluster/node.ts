import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { Backend } from '../vfs/backends/backend.js';
import { InternalProxyBackend } from '../vfs/backends/internalproxy.js';
import type { NodeRecord } from '../vfs/types.js';
import type { Vfs } from '../vfs/vfs.js';
import { InstanceDirectory } from './instances.js';
import { internalRoutes } from './internal-routes.js';
import { INTERNAL_SECRET_HEADER } from './internal-secret.js';

/**
 * What makes one server a member of a cluster: it registers itself (with
 * heartbeats) in the shared metadata store, serves its localfs blobs to the
 * other nodes, and reads theirs through internalproxy. Without
 * auth.internal_proxy_secret the internal route does not exist and content
 * held by another node is PEER_FAILED.
 */
export class ClusterNode {
  private directory: InstanceDirectory | null = null;
  private readonly proxies = new Map<string, InternalProxyBackend>();

  constructor(
    private readonly config: Config,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** For VfsOptions.remoteReader: a reader for a blob another node holds, or null without a secret. */
  readonly remoteReader = (node: NodeRecord): Backend | null => {
    const secret = this.config.auth.internal_proxy_secret;
    if (!secret || !node.instanceId || !node.backend || !this.directory) return null;
    const cacheKey = `${node.instanceId}\u0000${node.backend}`;
    let proxy = this.proxies.get(cacheKey);
    if (!proxy) {
      const directory = this.directory;
      proxy = new InternalProxyBackend({
        instanceId: node.instanceId,
        backendName: node.backend,
        endpointOf: (id) => directory.endpointOf(id),
        secret,
        secretHeader: INTERNAL_SECRET_HEADER,
        observe: (operation, seconds) => {
          const target = node.instanceId!;
          this.metrics?.crossServerOps.inc({ operation, source_instance: this.instanceId, target_instance: target });
          this.metrics?.crossServerDuration.observe({ operation, target_instance: target }, seconds);
        },
      });
      this.proxies.set(cacheKey, proxy);
    }
    return proxy;
  };

  /** Creates the directory over the store and registers the internal route (before listen). */
  async attach(app: FastifyInstance, vfs: Vfs): Promise<void> {
    const d = this.config.instance_discovery;
    this.directory = new InstanceDirectory({
      store: vfs.store,
      instanceId: this.instanceId,
      staticPeers: d.peer_endpoints,
      heartbeatMs: d.heartbeat_interval * 1000,
      onHeartbeatError: (err) => this.logger.warn({ err: (err as Error).message }, 'instance heartbeat failed; retrying at the next interval'),
    });
    const secret = this.config.auth.internal_proxy_secret;
    if (secret) await app.register(internalRoutes, { backends: vfs.backends, secret });
  }

  /** Starts heartbeats once the listener's URL is known. server.advertise_url wins over the listening URL. */
  async start(listeningUrl: string): Promise<void> {
    const endpoint = this.config.server.advertise_url ?? listeningUrl;
    await this.directory?.start(endpoint);
  }

  stop(): void {
    this.directory?.stop();
  }
}
