import type { FastifyInstance } from 'fastify';
import { entryJson } from '../../http/entity-headers.js';
import { VfsError } from '../../vfs/errors.js';
import type { Entry } from '../../vfs/types.js';
import type { Vfs } from '../../vfs/vfs.js';
import { flag, positiveInt } from '../params.js';
import { treeTarget } from '../request-path.js';
import { contextOf } from './files.js';

const PREFIX = '/v1/directories';
const MAX_PAGE = 10_000;

const encodeCursor = (name: string) => Buffer.from(name, 'utf8').toString('base64url');
function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new VfsError('INVALID_ARGUMENT', 'cursor is malformed; pass next_cursor back unchanged');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/**
 * Listing with paging. Without `recursive` the cursor is the last name of the
 * page (an index seek in the store). With `recursive` it is the last path of
 * the page in walk order, and the walk skips up to it.
 */
export async function directoryRoutes(app: FastifyInstance, { vfs }: { vfs: Vfs }): Promise<void> {
  const handler = async (request: import('fastify').FastifyRequest) => {
    const { path } = treeTarget(request.raw.url!, PREFIX);
    const ctx = contextOf(request);
    const q = request.query as Record<string, string | undefined>;
    const recursive = flag(q.recursive);
    const maxDepth = positiveInt(q.max_depth, 'max_depth', Number.MAX_SAFE_INTEGER) ?? (recursive ? Infinity : 1);
    const limit = positiveInt(q.limit, 'limit', MAX_PAGE);
    const after = decodeCursor(q.cursor);
    const dir = await vfs.stat(ctx, path);
    if (dir.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `${path} is a file`, { path });

    const items: Entry[] = [];
    let more = false;
    if (!recursive || maxDepth === 1) {
      const page = await vfs.list(ctx, path, { after, limit: limit === undefined ? undefined : limit + 1 });
      items.push(...page.entries);
    } else {
      let skipping = after !== undefined;
      for await (const entry of vfs.walk(ctx, path, maxDepth)) {
        if (skipping) {
          if (entry.path === after) skipping = false;
          continue;
        }
        items.push(entry);
        if (limit !== undefined && items.length > limit) break;
      }
    }
    if (limit !== undefined && items.length > limit) {
      items.length = limit;
      more = true;
    }
    const last = items[items.length - 1];
    return {
      path,
      type: 'directory',
      count: items.length,
      items: items.map(entryJson),
      ...(more && last ? { next_cursor: encodeCursor(recursive && maxDepth !== 1 ? last.path : last.name) } : {}),
    };
  };
  app.get(PREFIX, handler);
  app.get(`${PREFIX}/*`, handler);
}
