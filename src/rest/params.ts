import type { IncomingHttpHeaders } from 'node:http';
import { VfsError } from '../vfs/errors.js';

/** Query-string booleans: true/1/yes. Anything else present is a 400, so typos do not silently mean false. */
export function flag(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === '') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new VfsError('INVALID_ARGUMENT', `expected true or false, got ${JSON.stringify(value)}`);
}

/** A mode as the 4-digit octal string of the API ("0644"), or a number (420). */
export function parseMode(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0o7777) return value;
  if (typeof value === 'string' && /^[0-7]{1,4}$/.test(value)) return parseInt(value, 8);
  throw new VfsError('INVALID_ARGUMENT', `${field} must be an octal string such as "0644" or a number from 0 to 4095`);
}

/** A uid or gid header: a decimal integer (its range is the VFS's to check). */
export function parseId(value: string | string[] | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^\d{1,10}$/.test(value)) return Number(value);
  throw new VfsError('INVALID_ARGUMENT', `${field} must be a decimal integer from 0 to 4294967295`);
}

/** RFC 3339 text or Unix seconds. */
export function parseTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new VfsError('INVALID_ARGUMENT', `${field} must be an RFC 3339 time such as 2024-05-01T12:00:00Z, or Unix seconds`);
}

/** WebDAV lock tokens a REST client holds, in X-CallFS-Lock-Token (comma-separated, with or without <>). */
export function lockTokens(headers: IncomingHttpHeaders): string[] {
  const raw = headers['x-callfs-lock-token'];
  if (!raw) return [];
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  return text
    .split(',')
    .map((t) => t.trim().replace(/^<|>$/g, ''))
    .filter(Boolean);
}

export function positiveInt(value: string | undefined, field: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new VfsError('INVALID_ARGUMENT', `${field} must be a positive integer`);
  return Math.min(Number(value), max);
}
