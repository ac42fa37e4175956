import type { FastifyInstance } from 'fastify';
import { rfc3339 } from '../../http/entity-headers.js';
import { readJsonObject } from '../../http/json-body.js';
import type { LinkService } from '../../links/service.js';
import type { RateLimiter } from '../../links/rate-limiter.js';
import type { Metrics } from '../../observability/metrics.js';
import { VfsError } from '../../vfs/errors.js';
import { sendHttpError } from '../errors.js';
import { contextOf } from './files.js';

export interface LinkRouteOptions {
  links: LinkService;
  limiter: RateLimiter;
  metrics: Metrics;
  maxJsonBody: number;
  externalUrl: () => string;
}

/** POST /v1/links/generate {path, expiry_seconds} → 201 {url, token, expires}. */
export async function linkRoutes(app: FastifyInstance, options: LinkRouteOptions): Promise<void> {
  const { links, limiter, metrics } = options;
  app.post('/v1/links/generate', async (request, reply) => {
    const wait = limiter.take(`user:${request.principal!.name}`);
    if (wait > 0) {
      metrics.linkGenerations.inc({ status: 'rate_limited' });
      reply.header('Retry-After', String(wait));
      return sendHttpError(reply, 'RATE_LIMITED', `too many links generated; retry in ${wait} s`);
    }
    const body = await readJsonObject(request.raw, options.maxJsonBody);
    if (typeof body.path !== 'string') throw new VfsError('INVALID_ARGUMENT', 'path (a tree path string) is required');
    const expiry = body.expiry_seconds ?? 3600;
    if (typeof expiry !== 'number') throw new VfsError('INVALID_ARGUMENT', 'expiry_seconds must be a number');
    try {
      const { token, expiresAtMs } = await links.create(contextOf(request), body.path, expiry);
      metrics.linkGenerations.inc({ status: 'success' });
      return reply.code(201).send({ url: `${options.externalUrl()}/download/${token}`, token, expires: rfc3339(expiresAtMs) });
    } catch (err) {
      metrics.linkGenerations.inc({ status: 'failure' });
      throw err;
    }
  });
}
