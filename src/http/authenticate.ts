import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { parseAuthorization } from '../auth/header.js';
import type { Principal } from '../vfs/types.js';

/**
 * Bearer API key or HTTP Basic, for every front end. Failures are logged at
 * warn with the remote address and the user name; never with the secret.
 */
async function verify(auth: Authenticator, request: FastifyRequest): Promise<Principal | null> {
  const header = request.headers.authorization;
  const credentials = parseAuthorization(header);
  if (!credentials) {
    if (header) request.log.warn({ remote_addr: request.ip }, 'Authentication failed: malformed Authorization header');
    return null;
  }
  const principal = await auth.byHeader(header!, credentials);
  if (!principal) {
    request.log.warn(
      { remote_addr: request.ip, user_agent: request.headers['user-agent'], scheme: credentials.scheme, user: credentials.scheme === 'basic' ? credentials.user : undefined },
      credentials.scheme === 'bearer' ? 'Authentication failed: invalid API key' : 'Authentication failed: invalid user name or password',
    );
  }
  return principal;
}

/**
 * An onRequest hook that sets `request.principal` or answers with `refuse`.
 * Callback style, and synchronous for a header verified a moment ago: a
 * client sends the same one with every request, and an async hook costs a
 * promise per request.
 */
export function authenticationHook(
  auth: Authenticator,
  refuse: (reply: FastifyReply) => void,
  exempt: (request: FastifyRequest) => boolean = () => false,
): onRequestHookHandler {
  return (request, reply, done) => {
    if (exempt(request)) return done();
    const known = auth.recall(request.headers.authorization);
    if (known) {
      request.principal = known;
      return done();
    }
    verify(auth, request).then((principal) => {
      if (!principal) return refuse(reply);
      request.principal = principal;
      done();
    }, done);
  };
}
