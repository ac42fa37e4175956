import type { FastifyInstance } from 'fastify';
import { contentTypeOf } from '../../http/entity-headers.js';
import type { LinkService } from '../../links/service.js';
import type { RateLimiter } from '../../links/rate-limiter.js';
import type { Metrics } from '../../observability/metrics.js';
import { sendHttpError, sendRestError } from '../errors.js';

export interface DownloadRouteOptions {
  links: LinkService;
  limiter: RateLimiter;
  metrics: Metrics;
  externalUrl: () => string;
}

/** RFC 6266 / 8187: an ASCII fallback plus the exact UTF-8 name. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** GET /download/{token}: no auth; the token is the credential, good for one download. */
export async function downloadRoutes(app: FastifyInstance, options: DownloadRouteOptions): Promise<void> {
  const { links, limiter, metrics } = options;
  app.setErrorHandler((err, request, reply) => sendRestError(err, request, reply, { externalUrl: options.externalUrl() }));
  app.get('/download/:token', async (request, reply) => {
    const wait = limiter.take(`ip:${request.ip}`);
    if (wait > 0) {
      metrics.linkConsumptions.inc({ status: 'rate_limited' });
      reply.header('Retry-After', String(wait));
      return sendHttpError(reply, 'RATE_LIMITED', `too many downloads; retry in ${wait} s`);
    }
    const outcome = await links.consume((request.params as { token: string }).token);
    metrics.linkConsumptions.inc({ status: outcome.status });
    switch (outcome.status) {
      case 'success': {
        const { entry, stream } = outcome;
        return reply
          .header('Content-Type', contentTypeOf(entry.name))
          .header('Content-Length', String(entry.size))
          .header('Content-Disposition', contentDisposition(entry.name))
          .header('Cache-Control', 'no-store')
          .send(stream);
      }
      case 'invalid':
      case 'not_found':
        return sendHttpError(reply, 'LINK_NOT_FOUND', 'no such download link');
      case 'expired':
        return sendHttpError(reply, 'LINK_EXPIRED', 'this download link has expired');
      case 'used':
        return sendHttpError(reply, 'LINK_USED', 'this download link has already been used');
    }
  });
}
