import { randomString } from './random-pool.js';

/**
 * A fresh strong validator for a new content or metadata version. Random
 * rather than a hash so that large writes need no extra pass over the bytes;
 * two versions never share a tag.
 */
export function newEtag(kind: 'f' | 'd'): string {
  return `${kind}${randomString(12, 'base64url')}`;
}
