import { Readable } from 'node:stream';
import { escapeXml } from './xml-write.js';
import { statusLine } from './errors.js';

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';
export const MULTISTATUS_OPEN = `${XML_DECLARATION}<D:multistatus xmlns:D="DAV:">`;
export const MULTISTATUS_CLOSE = '</D:multistatus>\n';

/** Properties of one resource grouped by status: each value is a serialised property element. */
export type PropstatGroups = Map<number, string[]>;

/** One D:response with propstat groups (PROPFIND, PROPPATCH). */
export function propstatResponse(href: string, groups: PropstatGroups): string {
  let out = `<D:response><D:href>${escapeXml(href)}</D:href>`;
  for (const [status, props] of groups) {
    out += `<D:propstat><D:prop>${props.join('')}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
  }
  return out + '</D:response>';
}

/** One D:response whose properties were all found (a listing's common case). */
export function okResponse(href: string, props: string): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href><D:propstat><D:prop>${props}</D:prop><D:status>${statusLine(200)}</D:status></D:propstat></D:response>`;
}

/** One D:response with a bare status (DELETE, COPY, MOVE, LOCK failures). */
export function statusResponse(href: string, status: number, condition?: string): string {
  const error = condition ? `<D:error><D:${condition}/></D:error>` : '';
  return `<D:response><D:href>${escapeXml(href)}</D:href><D:status>${statusLine(status)}</D:status>${error}</D:response>`;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A multistatus body produced page by page: responses are written as they
 * are computed, so a listing of any size is answered in constant memory.
 * Responses are encoded straight into 64 KiB buffers: concatenating them into
 * one string first would build ropes that survive into the old generation.
 */
export function multistatusStream(pages: AsyncIterable<readonly string[]>): Readable {
  return Readable.from(
    (async function* () {
      let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
      let used = chunk.write(MULTISTATUS_OPEN);
      for await (const page of pages) {
        for (const r of page) {
          // A UTF-16 code unit takes at most 3 bytes in UTF-8.
          if (used + r.length * 3 > CHUNK_BYTES && used > 0) {
            yield chunk.subarray(0, used);
            chunk = Buffer.allocUnsafe(CHUNK_BYTES);
            used = 0;
          }
          if (r.length * 3 > CHUNK_BYTES) yield Buffer.from(r);
          else used += chunk.write(r, used);
        }
      }
      yield Buffer.concat([chunk.subarray(0, used), Buffer.from(MULTISTATUS_CLOSE)]);
    })(),
    { objectMode: false },
  );
}

export function multistatusBody(responses: readonly string[]): string {
  return MULTISTATUS_OPEN + responses.join('') + MULTISTATUS_CLOSE;
}
