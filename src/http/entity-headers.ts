import mime from 'mime-types';
import type { Entry } from '../vfs/types.js';
import { formatMode } from '../vfs/types.js';
import { quoteEtag } from './etag-header.js';

export function contentTypeOf(name: string): string {
  return mime.lookup(name) || 'application/octet-stream';
}

/**
 * A date formatter memoised by whole second: formatting shows in profiles of small GETs and
 * of listings, and the files in use share few distinct seconds.
 */
function bySecond(format: (date: Date) => string): (ms: number) => string {
  const formatted = new Map<number, string>();
  return (ms) => {
    const seconds = Math.floor(ms / 1000);
    let text = formatted.get(seconds);
    if (text === undefined) {
      if (formatted.size >= 1024) formatted.clear();
      text = format(new Date(seconds * 1000));
      formatted.set(seconds, text);
    }
    return text;
  };
}

export const httpDate = bySecond((date) => date.toUTCString());
/** RFC 3339 without fractions (WebDAV creationdate). */
export const rfc3339Seconds = bySecond((date) => date.toISOString().replace('.000Z', 'Z'));
export const rfc3339 = (ms: number) => new Date(ms).toISOString();

/** The validators of an entry (RFC 9110 §8.8): what WebDAV clients use. */
export function validatorHeaders(entry: Entry): Record<string, string> {
  return { ETag: quoteEtag(entry.etag), 'Last-Modified': httpDate(entry.mtimeMs) };
}

/** Validators and the X-CallFS-* attributes of an entry: the REST API's contract. */
export function entityHeaders(entry: Entry, instanceId: string): Record<string, string> {
  return {
    ...validatorHeaders(entry),
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
