import { z } from 'zod';

/**
 * Every configuration key CallFS reads, with its default and a line of help.
 * `callfs config validate`, the server and the README's table all come from
 * this one declaration.
 */

const listOf = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item));

const duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'use a number of seconds or a duration such as 500ms, 30s, 5m, 1h')])
  .transform((v) => (typeof v === 'number' ? v : parseDuration(v)));

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)!;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n * 3600;
}

const listenAddr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5}$/, 'use host:port, e.g. 127.0.0.1:8443 or :8443');

const user = z
  .object({
    name: z.string().min(1).regex(/^[^:\s]+$/, 'user names may not contain spaces or colons'),
    uid: z.number().int().min(1, 'uid 0 is root: give root access with auth.api_keys instead').max(0xfffffffe),
    gid: z.number().int().min(0).max(0xfffffffe),
    groups: z.array(z.number().int().min(0)).default([]),
    api_keys: listOf(z.string().min(16, 'API keys must be at least 16 characters')).default([]),
    password: z.string().min(8, 'passwords must be at least 8 characters').optional(),
    password_hash: z.string().regex(/^\$2[aby]\$\d\d\$/, 'password_hash must be a bcrypt hash ($2b$…)').optional(),
  })
  .strict()
  .refine((u) => !(u.password && u.password_hash), { message: 'set password or password_hash, not both' });

export const configSchema = z
  .object({
    data_dir: z.string().default('./data').describe('Directory for the embedded defaults: SQLite file, localfs blobs, admin key.'),
    server: z
      .object({
        listen_addr: listenAddr.default('127.0.0.1:8443').describe('host:port to listen on.'),
        protocol: z.enum(['http', 'https']).default('http').describe('http, or https with cert_file and key_file.'),
        cert_file: z.string().optional().describe('PEM certificate for https.'),
        key_file: z.string().optional().describe('PEM private key for https.'),
        external_url: z.string().optional().describe('Base URL clients reach this node at (used in links and update_url). Without a scheme, https is assumed.'),
        advertise_url: z.string().url().optional().describe('Base URL the other nodes of a cluster reach this node at (internal blob route); registered in the metadata store. Default: the listening URL.'),
        dav_prefix: z.string().regex(/^\/([^/]+\/)*$/, 'dav_prefix must start and end with /, e.g. /dav/').default('/dav/').describe('URL prefix of the WebDAV tree.'),
        request_timeout: duration.default(0).describe('Whole-request timeout, seconds (0 = none; large uploads need none).'),
        keep_alive_timeout: duration.default(65).describe('Idle keep-alive timeout, seconds.'),
        max_json_body: z.number().int().positive().default(65536).describe('Largest JSON request body, bytes.'),
        max_xml_body: z.number().int().positive().default(1048576).describe('Largest WebDAV XML request body, bytes.'),
        propfind_infinity_limit: z.number().int().positive().default(100000).describe('Most entries a Depth: infinity PROPFIND may return.'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        api_keys: listOf(z.string().min(16, 'API keys must be at least 16 characters')).default([]).describe('Keys that act as root.'),
        users: z.array(user).default([]).describe('Named users with uid/gid/groups, API keys and a password for WebDAV.'),
        internal_proxy_secret: z.string().min(16).optional().describe('Shared secret nodes use to fetch each other\'s blobs.'),
        single_use_link_secret: z.string().min(16).optional().describe('HMAC secret for single-use download links.'),
      })
      .strict()
      .prefault({}),
    backend: z
      .object({
        default_backend: z.enum(['localfs', 's3', 'noop']).default('localfs').describe('Backend for new content outside any mount.'),
        localfs_root_path: z.string().optional().describe('Directory of localfs blobs (default <data_dir>/localfs).'),
        mounts: z
          .array(z.object({ path: z.string().startsWith('/'), backend: z.enum(['localfs', 's3', 'noop']) }).strict())
          .default([])
          .describe('Directory prefixes whose content goes to another backend.'),
        inline_max_bytes: z
          .number()
          .int()
          .min(0)
          .max(1024 * 1024)
          .default(65536)
          .describe('Files up to this size (with a declared length) headed for localfs are kept inside the metadata store: one transaction per write, readable from every node. 0 disables.'),
        s3_access_key: z.string().optional(),
        s3_secret_key: z.string().optional(),
        s3_region: z.string().default('us-east-1'),
        s3_bucket_name: z.string().optional(),
        s3_endpoint: z.string().optional().describe('S3-compatible endpoint; forces path-style addressing.'),
        s3_server_side_encryption: z.string().optional(),
        s3_acl: z.string().optional(),
        s3_kms_key_id: z.string().optional(),
        s3_part_size: z.number().int().min(5 * 1024 * 1024).default(8 * 1024 * 1024),
        s3_queue_size: z.number().int().min(1).max(16).default(4),
        s3_request_timeout: duration.default(30).describe('Seconds an S3 request may stay silent before it is retried or fails.'),
        s3_breaker_cooldown: duration.default(10).describe('Seconds S3 calls fail fast (503) after repeated outages before one probe is let through.'),
        orphan_sweep_interval: duration.default(3600).describe('Seconds between sweeps of orphan blobs on node-local backends (0 = never).'),
        orphan_grace: duration.default(3600).describe('Age, seconds, below which an unreferenced blob is never removed (it may be an upload in flight).'),
      })
      .strict()
      .prefault({}),
    metadata_store: z
      .object({
        type: z.enum(['sqlite', 'postgres']).default('sqlite').describe('sqlite (embedded) or postgres (cluster).'),
        sqlite_path: z.string().optional().describe('SQLite file (default <data_dir>/metadata.db).'),
        dsn: z.string().optional().describe('PostgreSQL connection string, for type postgres.'),
        max_open_conns: z.number().int().positive().default(20),
        max_idle_conns: z.number().int().nonnegative().default(5),
        conn_max_lifetime: duration.default(1800),
      })
      .strict()
      .prefault({}),
    dlm: z
      .object({
        type: z.enum(['local', 'redis']).default('local').describe('local (one node) or redis (cluster).'),
        redis_addr: z.string().default('127.0.0.1:6379'),
        redis_password: z.string().optional(),
        key_prefix: z.string().default('callfs:').describe('Prefix of every Redis key.'),
        lock_timeout: duration.default(30).describe('Lease of a mutation lock, seconds; refreshed while held.'),
        acquire_timeout: duration.default(10).describe('How long a writer waits for a contended lock, seconds.'),
        retry_delay: duration.default(0.05),
        max_retries: z.number().int().nonnegative().default(200),
        connect_timeout: duration.default(5),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        ttl: duration.default(5).describe('Seconds a metadata cache entry may be served (cluster); on embedded SQLite, where every hit is checked against data_version, how long an unused entry is kept.'),
        max_entries: z.number().int().nonnegative().default(10000).describe("Path resolutions kept in memory (each holds its chain of nodes: about 1 KiB)."),
        content_max_mb: z.number().nonnegative().default(16).describe('Memory for small file contents (immutable, never stale), MiB; 0 disables.'),
        content_max_item_kb: z.number().int().nonnegative().default(128).describe('Largest file kept in the content cache, KiB.'),
      })
      .strict()
      .prefault({}),
    instance_discovery: z
      .object({
        instance_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - only').optional().describe('Unique name of this node (default: hostname).'),
        peer_endpoints: z.array(z.string().url()).default([]),
        heartbeat_interval: duration.default(10),
      })
      .strict()
      .prefault({}),
    links: z
      .object({
        generate_per_minute: z.number().int().positive().default(60),
        download_per_minute: z.number().int().positive().default(600),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        format: z.enum(['json', 'pretty', 'console']).default('json').describe('json, or pretty (alias console) for a terminal.'),
      })
      .strict()
      .prefault({}),
    metrics: z.object({ enabled: z.boolean().default(true) }).strict().prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.server.protocol === 'https' && (!c.server.cert_file || !c.server.key_file)) {
      ctx.addIssue({ code: 'custom', path: ['server', 'cert_file'], message: 'protocol https needs server.cert_file and server.key_file' });
    }
    if (c.metadata_store.type === 'postgres' && !c.auth.single_use_link_secret) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'single_use_link_secret'], message: 'a cluster (type postgres) needs the same single_use_link_secret on every node, or links made on one node fail on the others' });
    }
    if (c.metadata_store.type === 'postgres' && !c.metadata_store.dsn) {
      ctx.addIssue({ code: 'custom', path: ['metadata_store', 'dsn'], message: 'type postgres needs a dsn, e.g. postgres://callfs@db/callfs' });
    }
    const names = new Set<string>();
    c.auth.users.forEach((u, i) => {
      if (names.has(u.name)) ctx.addIssue({ code: 'custom', path: ['auth', 'users', i, 'name'], message: `duplicate user ${u.name}` });
      names.add(u.name);
    });
    const usesS3 = c.backend.default_backend === 's3' || c.backend.mounts.some((m) => m.backend === 's3');
    if (usesS3 && !c.backend.s3_bucket_name) {
      ctx.addIssue({ code: 'custom', path: ['backend', 's3_bucket_name'], message: 'the s3 backend needs s3_bucket_name' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type UserConfig = Config['auth']['users'][number];
