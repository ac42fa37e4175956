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

/** One D:response with a bare status (DELETE, COPY, MOVE, LOCK failures). */
export function statusResponse(href: string, status: number, condition?: string): string {
  const error = condition ? `<D:error><D:${condition}/></D:error>` : '';
  return `<D:response><D:href>${escapeXml(href)}</D:href><D:status>${statusLine(status)}</D:status>${error}</D:response>`;
}

/**
 * A multistatus body produced piece by piece: responses are written as they
 * are computed, so a listing of any size is answered in constant memory.
 * Small pieces are coalesced into chunks of about 64 KiB.
 */
export function multistatusStream(responses: AsyncIterable<string>): Readable {
  return Readable.from(
    (async function* () {
      let buffer = MULTISTATUS_OPEN;
      for await (const r of responses) {
        buffer += r;
        if (buffer.length >= 65536) {
          yield buffer;
          buffer = '';
        }
      }
      yield buffer + MULTISTATUS_CLOSE;
    })(),
    { objectMode: false },
  );
}

export function multistatusBody(responses: readonly string[]): string {
  return MULTISTATUS_OPEN + responses.join('') + MULTISTATUS_CLOSE;
}
