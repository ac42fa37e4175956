import './fastify-types.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadOrCreateSecretFile } from './secret-files.js';
import { LinkService } from './links/service.js';
import { RateLimiter } from './links/rate-limiter.js';
import { downloadRoutes } from './rest/routes/download.js';
import { Authenticator } from './auth/authenticator.js';
import type { Config } from './config/schema.js';
import { OrphanSweeper } from './fsck/sweeper.js';
import { davApi } from './dav/index.js';
import { checkHealth } from './health.js';
import { collectYoungGeneration } from './heap-ceiling.js';
import { requestIdGenerator } from './http/request-id.js';
import { createLogger } from './observability/logger.js';
import { lazyChildLoggerFactory } from './observability/lazy-child-logger.js';
import { Metrics } from './observability/metrics.js';
import { restApi } from './rest/index.js';
import { openapiRoute } from './rest/openapi.js';
import { sendHttpError } from './rest/errors.js';
import { ClusterNode } from './cluster/node.js';
import { buildVfs } from './vfs/build.js';
import type { Vfs } from './vfs/vfs.js';

export interface CallFsServer {
  app: FastifyInstance;
  vfs: Vfs;
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** The root key generated for a setup without credentials, if any. */
  adminKey?: { key: string; file: string; created: boolean };
  /** Base URL after listen(). */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface ServerOptions {
  logger?: Logger;
}

export function parseListenAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(addr.slice(i + 1)) };
}

/** Normalises server.external_url: a value without scheme (old CallFS configs) means https. */
export function externalBase(config: Config, listening?: string): string {
  const configured = config.server.external_url;
  if (configured) return (/^[a-z][a-z0-9+.-]*:\/\//i.test(configured) ? configured : `https://${configured}`).replace(/\/+$/, '');
  return listening ?? `${config.server.protocol}://${config.server.listen_addr}`;
}

/** The composition root: config → stores, backends, locks → VFS → front ends on one listener. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<CallFsServer> {
  const logger = options.logger ?? createLogger(config.log);
  const metrics = new Metrics();
  const instanceId = config.instance_discovery.instance_id ?? hostname();
  const cluster = new ClusterNode(config, instanceId, logger, metrics);
  const vfs = await buildVfs(config, { instanceId, logger, metrics, remoteReader: cluster.remoteReader, onWriteInterval: collectYoungGeneration });
  const sweeper = new OrphanSweeper({
    store: vfs.store,
    backends: vfs.backends,
    instanceId,
    intervalMs: config.backend.orphan_sweep_interval * 1000,
    graceMs: config.backend.orphan_grace * 1000,
    logger,
  });
  sweeper.start();

  const authConfig = config.auth;
  const hasCredentials = authConfig.api_keys.length > 0 || authConfig.users.length > 0;
  const adminKey = hasCredentials ? undefined : loadOrCreateSecretFile(config.data_dir, 'admin.key');
  const auth = new Authenticator(authConfig, adminKey ? [adminKey.key] : []);

  const https = config.server.protocol === 'https'
    ? { key: readFileSync(config.server.key_file!), cert: readFileSync(config.server.cert_file!) }
    : null;
  const app = Fastify({
    loggerInstance: logger,
    // One access line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
    exposeHeadRoutes: false,
    requestIdHeader: 'x-request-id',
    genReqId: requestIdGenerator(),
    requestTimeout: config.server.request_timeout * 1000,
    keepAliveTimeout: config.server.keep_alive_timeout * 1000,
    // Paths are decoded and checked by the VFS normaliser, not the router.
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 8192 },
    ...(https ? { https } : {}),
    // The router's own rejections (a URL that does not decode) get the same error body as everything else.
    frameworkErrors: (error: Error & { code?: string }, _request: unknown, reply: import('fastify').FastifyReply) =>
      reply.code(400).send({ code: error.code === 'FST_ERR_BAD_URL' ? 'INVALID_PATH' : 'BAD_REQUEST', message: error.message }),
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: import('node:net').Socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const body = JSON.stringify({ code: 'BAD_REQUEST', message: 'malformed HTTP request' });
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.decorateRequest('principal', null);
  // Bodies are streamed by the handlers themselves; nothing is parsed or buffered up front.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  // The two hooks every request runs take a callback: an async hook costs a promise and its settling per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-ID', request.id);
    const trace = request.headers['x-trace-id'];
    if (typeof trace === 'string' && trace) request.log = request.log.child({ trace_id: trace.slice(0, 128) });
    done();
  });
  // Label-bound metric children, found once per (route, method, status). Nested maps: the route and method
  // strings are the same objects on every request, with their hashes kept, where a joined key is a new string.
  const boundRequestMetrics = new Map<string, Map<string, Map<number, (seconds: number) => void>>>();
  const requestMetrics = (method: string, route: string, status: number) => {
    let byMethod = boundRequestMetrics.get(route);
    if (!byMethod) boundRequestMetrics.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let observe = byStatus.get(status);
    if (!observe) {
      const count = metrics.httpRequests.labels({ method, path: route, status_code: String(status) });
      const duration = metrics.httpDuration.labels({ method, path: route });
      observe = (seconds) => (count.inc(), duration.observe(seconds));
      byStatus.set(status, observe);
    }
    return observe;
  };
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    requestMetrics(request.method, route, reply.statusCode)(seconds);
    // Skips building the access line's fields when the configured level drops it.
    if (logger.isLevelEnabled('info')) request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        route,
        status: reply.statusCode,
        duration: Number(seconds.toFixed(6)),
        user_agent: request.headers['user-agent'],
        remote_addr: request.ip,
        user: request.principal?.name,
      },
      'HTTP request',
    );
    done();
  });
  app.setNotFoundHandler((request, reply) => sendHttpError(reply, 'ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`));

  app.get('/health', async (_request, reply) => {
    const report = await checkHealth(vfs);
    return reply.code(report.status === 'error' ? 503 : 200).send(report);
  });
  app.get('/metrics', async (_request, reply) => {
    metrics.activeLocks.set(vfs.locks.activeLocks());
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  await app.register(openapiRoute);

  let url = '';
  const externalUrl = () => externalBase(config, url || undefined);
  const links = new LinkService(vfs, config.auth.single_use_link_secret ?? loadOrCreateSecretFile(config.data_dir, 'link.secret').key);
  links.startSweeper(undefined, (err) => logger.warn({ err }, 'removing expired links failed'));
  await app.register(restApi, {
    vfs,
    auth,
    metrics,
    externalUrl,
    maxJsonBody: config.server.max_json_body,
    links: { service: links, limiter: new RateLimiter(config.links.generate_per_minute) },
  });
  await app.register(downloadRoutes, { links, limiter: new RateLimiter(config.links.download_per_minute), metrics, externalUrl });
  await app.register(davApi, {
    vfs,
    auth,
    davPrefix: config.server.dav_prefix,
    maxXmlBody: config.server.max_xml_body,
    propfindInfinityLimit: config.server.propfind_infinity_limit,
  });
  await cluster.attach(app, vfs);

  const server: CallFsServer = {
    app,
    vfs,
    config,
    metrics,
    logger,
    adminKey,
    get url() {
      return url;
    },
    async listen() {
      const { host, port } = parseListenAddr(config.server.listen_addr);
      await app.listen({ host, port });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      url = `${config.server.protocol}://${shownHost}:${actualPort}`;
      await cluster.start(url);
      return url;
    },
    async close() {
      cluster.stop();
      links.stop();
      await app.close();
      await sweeper.stop();
      await vfs.close();
    },
  };
  return server;
}
