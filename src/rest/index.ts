import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { authenticateRequest } from '../http/authenticate.js';
import type { Vfs } from '../vfs/vfs.js';
import { sendHttpError, sendRestError } from './errors.js';
import { directoryRoutes } from './routes/directories.js';
import { filesRoutes } from './routes/files.js';

export interface RestOptions {
  vfs: Vfs;
  auth: Authenticator;
  /** Evaluated per error, because the port is known only after listen(). */
  externalUrl: () => string;
  maxJsonBody: number;
}

/** The /v1 API: Bearer (or Basic) auth on every route, one error table. */
export async function restApi(app: FastifyInstance, options: RestOptions): Promise<void> {
  const { vfs, auth, externalUrl } = options;
  app.addHook('onRequest', async (request, reply) => {
    const principal = await authenticateRequest(auth, request);
    if (!principal) {
      reply.header('WWW-Authenticate', 'Bearer realm="callfs"');
      return sendHttpError(reply, 'UNAUTHORIZED', 'missing or invalid credentials: send Authorization: Bearer <api key>');
    }
    request.principal = principal;
  });
  app.setErrorHandler((err, request, reply) => sendRestError(err, request, reply, { externalUrl: externalUrl() }));
  await app.register(filesRoutes, { vfs, maxJsonBody: options.maxJsonBody });
  await app.register(directoryRoutes, { vfs });
}
