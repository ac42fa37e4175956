import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { authenticationHook } from '../http/authenticate.js';
import type { Vfs } from '../vfs/vfs.js';
import { sendHttpError, sendRestError } from './errors.js';
import type { LinkService } from '../links/service.js';
import type { RateLimiter } from '../links/rate-limiter.js';
import type { Metrics } from '../observability/metrics.js';
import { VfsError } from '../vfs/errors.js';
import { directoryRoutes } from './routes/directories.js';
import { linkRoutes } from './routes/links.js';
import { filesRoutes } from './routes/files.js';
import { usageRoutes } from './routes/usage.js';

export interface RestOptions {
  vfs: Vfs;
  auth: Authenticator;
  /** Evaluated per error, because the port is known only after listen(). */
  externalUrl: () => string;
  maxJsonBody: number;
  metrics: Metrics;
  links: { service: LinkService; limiter: RateLimiter };
}

/** The /v1 API: Bearer (or Basic) auth on every route, one error table. */
export async function restApi(app: FastifyInstance, options: RestOptions): Promise<void> {
  const { vfs, auth, externalUrl } = options;
  app.addHook(
    'onRequest',
    authenticationHook(auth, (reply) => {
      reply.header('WWW-Authenticate', 'Bearer realm="callfs"');
      sendHttpError(reply, 'UNAUTHORIZED', 'missing or invalid credentials: send Authorization: Bearer <api key>');
    }),
  );
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof VfsError && err.code === 'EXISTS' && err.details.instanceId) {
      options.metrics.crossServerOps.inc({ operation: 'conflict_detected', source_instance: vfs.instanceId, target_instance: String(err.details.instanceId) });
    }
    sendRestError(err, request, reply, { externalUrl: externalUrl() });
  });
  await app.register(filesRoutes, { vfs, maxJsonBody: options.maxJsonBody });
  await app.register(directoryRoutes, { vfs });
  await app.register(usageRoutes, { vfs });
  await app.register(linkRoutes, { links: options.links.service, limiter: options.links.limiter, metrics: options.metrics, maxJsonBody: options.maxJsonBody, externalUrl });
}
