import type { FastifyRequest } from 'fastify';
import type { OpContext } from '../vfs/vfs.js';
import { DavStatusError } from './errors.js';

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Depth: 0, 1 or infinity; anything else is 400. */
export function parseDepth(request: FastifyRequest, fallback: '0' | '1' | 'infinity'): '0' | '1' | 'infinity' {
  const raw = header(request, 'depth');
  if (raw === undefined) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === '0' || value === '1' || value === 'infinity') return value;
  throw new DavStatusError(400, `invalid Depth header: ${JSON.stringify(raw)}`);
}

/** Overwrite: T (default) or F. */
export function parseOverwrite(request: FastifyRequest): boolean {
  const raw = header(request, 'overwrite');
  if (raw === undefined) return true;
  const value = raw.trim().toUpperCase();
  if (value === 'T') return true;
  if (value === 'F') return false;
  throw new DavStatusError(400, `invalid Overwrite header: ${JSON.stringify(raw)}`);
}

/**
 * Timeout: the first usable of `Second-n` / `Infinite`; a header with none is 400. A timeout is
 * a request the server may cut (RFC 4918 §10.7), so any n, however many digits, is clamped to `max`.
 */
export function parseTimeout(request: FastifyRequest, fallback: number, max: number): number {
  const raw = header(request, 'timeout');
  if (raw === undefined || raw.trim() === '') return fallback;
  for (const part of raw.split(',')) {
    const value = part.trim();
    if (/^infinite$/i.test(value)) return max;
    const m = /^second-(\d+)$/i.exec(value);
    if (m) return Math.max(1, Math.min(Number(m[1]), max));
  }
  throw new DavStatusError(400, `invalid Timeout header: ${JSON.stringify(raw)}`);
}

/** Whether the request carries a body (Content-Length > 0 or chunked). */
export function hasBody(request: FastifyRequest): boolean {
  const length = header(request, 'content-length');
  if (length !== undefined) return Number(length) > 0;
  return header(request, 'transfer-encoding') !== undefined;
}

export interface DavContext extends OpContext {
  path: string;
}
