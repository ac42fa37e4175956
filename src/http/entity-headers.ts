import mime from 'mime-types';
import type { Entry } from '../vfs/types.js';
import { formatMode } from '../vfs/types.js';
import { quoteEtag } from './etag-header.js';

export function contentTypeOf(name: string): string {
  return mime.lookup(name) || 'application/octet-stream';
}

export const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();
export const rfc3339 = (ms: number) => new Date(ms).toISOString();

/** Validators and X-CallFS-* attributes of an entry, as every front end sends them. */
export function entityHeaders(entry: Entry, instanceId: string): Record<string, string> {
  return {
    ETag: quoteEtag(entry.etag),
    'Last-Modified': httpDate(entry.mtimeMs),
    'X-CallFS-Type': entry.type,
    'X-CallFS-Size': String(entry.size),
    'X-CallFS-Mode': formatMode(entry.mode),
    'X-CallFS-UID': String(entry.uid),
    'X-CallFS-GID': String(entry.gid),
    'X-CallFS-MTime': rfc3339(entry.mtimeMs),
    'X-CallFS-Instance-ID': entry.instanceId ?? instanceId,
  };
}

/** The JSON shape of an entry in listings and write responses. */
export function entryJson(entry: Entry) {
  return {
    name: entry.path === '/' ? '/' : entry.name,
    path: entry.path,
    type: entry.type,
    size: entry.size,
    mode: formatMode(entry.mode),
    uid: entry.uid,
    gid: entry.gid,
    mtime: rfc3339(entry.mtimeMs),
    etag: entry.etag,
  };
}
