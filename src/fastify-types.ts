import type { Principal } from './vfs/types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook of each front end. */
    principal: Principal | null;
  }
}
