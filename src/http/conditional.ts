import type { IncomingHttpHeaders } from 'node:http';
import type { Entry } from '../vfs/types.js';
import { strongTags, weakTags } from './etag-header.js';

function parseHttpDate(value: string | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * RFC 9110 §13.2.2 evaluation order for a read: If-Match, else
 * If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
 */
export function evaluateReadConditions(entry: Entry, headers: IncomingHttpHeaders): 'ok' | 'not-modified' | 'failed' {
  const mtimeSec = Math.floor(entry.mtimeMs / 1000) * 1000;
  const ifMatch = strongTags(headers['if-match']);
  if (ifMatch !== undefined) {
    if (ifMatch !== '*' && !ifMatch.includes(entry.etag)) return 'failed';
  } else {
    const ius = parseHttpDate(headers['if-unmodified-since']);
    if (ius !== null && mtimeSec > ius) return 'failed';
  }
  const ifNoneMatch = weakTags(headers['if-none-match']);
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch === '*' || ifNoneMatch.includes(entry.etag)) return 'not-modified';
  } else {
    const ims = parseHttpDate(headers['if-modified-since']);
    if (ims !== null && mtimeSec <= ims) return 'not-modified';
  }
  return 'ok';
}

/** If-Range: the range applies only while the validator still matches. */
export function ifRangeHolds(entry: Entry, headers: IncomingHttpHeaders): boolean {
  const raw = headers['if-range'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return true;
  if (value.startsWith('"')) return value === `"${entry.etag}"`;
  const date = parseHttpDate(value);
  return date !== null && Math.floor(entry.mtimeMs / 1000) * 1000 <= date;
}
