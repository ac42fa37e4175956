import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { parseAuthorization } from '../auth/header.js';
import type { Principal } from '../vfs/types.js';

/**
 * Bearer API key or HTTP Basic, for every front end. Failures are logged at
 * warn with the remote address and the user name; never with the secret.
 */
export async function authenticateRequest(auth: Authenticator, request: FastifyRequest): Promise<Principal | null> {
  const credentials = parseAuthorization(request.headers.authorization);
  if (!credentials) {
    if (request.headers.authorization) request.log.warn({ remote_addr: request.ip }, 'Authentication failed: malformed Authorization header');
    return null;
  }
  const principal = credentials.scheme === 'bearer' ? auth.byApiKey(credentials.token) : await auth.byPassword(credentials.user, credentials.password);
  if (!principal) {
    request.log.warn(
      { remote_addr: request.ip, user_agent: request.headers['user-agent'], scheme: credentials.scheme, user: credentials.scheme === 'basic' ? credentials.user : undefined },
      credentials.scheme === 'bearer' ? 'Authentication failed: invalid API key' : 'Authentication failed: invalid user name or password',
    );
  }
  return principal;
}
