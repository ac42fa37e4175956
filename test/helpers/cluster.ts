import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { REDIS_ADDR, dropPrefix, requireRedis, uniquePrefix } from './redis.js';
import { startTestServer, type TestServer } from './server.js';

export interface TestCluster {
  nodes: TestServer[];
  db: TestDatabase;
  keyPrefix: string;
  secret: string;
  /** Starts one more node (or restarts a closed one under its old instance id and data directory). */
  startNode(index: number, dataDir?: string): Promise<TestServer>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  size?: number;
  /** Deep-merged into every node's config. */
  config?: Record<string, unknown>;
}

/**
 * N real CallFS nodes on loopback sharing one fresh PostgreSQL database and
 * one Redis key prefix, each with its own localfs and instance id, all with
 * the same internal proxy secret.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  await requireRedis();
  const db = await createTestDatabase('cluster');
  const keyPrefix = uniquePrefix('cluster');
  const secret = randomBytes(24).toString('hex');
  const linkSecret = randomBytes(24).toString('hex');
  const nodes: TestServer[] = [];
  const nodeConfig = (index: number) => ({
    metadata_store: { type: 'postgres', dsn: db.dsn, max_open_conns: 10 },
    dlm: { type: 'redis', redis_addr: REDIS_ADDR, key_prefix: keyPrefix, acquire_timeout: 60, lock_timeout: 10 },
    cache: { ttl: 60, max_entries: 10_000 },
    auth: { internal_proxy_secret: secret, single_use_link_secret: linkSecret },
    instance_discovery: { instance_id: `node-${index + 1}`, heartbeat_interval: 1 },
    ...(options.config ?? {}),
  });
  const cluster: TestCluster = {
    nodes,
    db,
    keyPrefix,
    secret,
    async startNode(index, dataDir) {
      const node = await startTestServer({ config: nodeConfig(index), dataDir });
      nodes[index] = node;
      return node;
    },
    async close() {
      await Promise.allSettled(nodes.map((n) => n.close()));
      await db.drop();
      await dropPrefix(keyPrefix);
    },
  };
  try {
    // Started together: migrations must not race.
    await Promise.all(Array.from({ length: options.size ?? 3 }, (_, i) => cluster.startNode(i)));
  } catch (err) {
    await cluster.close().catch(() => {});
    throw err;
  }
  return cluster;
}

export async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}
