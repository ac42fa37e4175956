import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { entityHeaders, entryJson } from '../../http/entity-headers.js';
import { strongTags, weakTags } from '../../http/etag-header.js';
import { readJsonObject } from '../../http/json-body.js';
import { serveFile } from '../../http/serve-file.js';
import { abortSignalMaker, declaredLength } from '../../http/upload.js';
import { VfsError } from '../../vfs/errors.js';
import { normalizePath } from '../../vfs/path.js';
import type { Entry } from '../../vfs/types.js';
import type { OpContext, SetAttrs, Vfs } from '../../vfs/vfs.js';
import { treeTarget } from '../request-path.js';
import { flag, lockTokens, parseId, parseMode, parseTime } from '../params.js';

const PREFIX = '/v1/files';

export interface FilesRouteOptions {
  vfs: Vfs;
  maxJsonBody: number;
}

export function contextOf(request: FastifyRequest): OpContext {
  return { principal: request.principal!, lockTokens: lockTokens(request.headers) };
}

/** A JSON array of entries, streamed a page per chunk: constant memory for a directory of any size, one write per page. */
function listingStream(pages: AsyncIterable<Entry[]>): Readable {
  return Readable.from(
    (async function* () {
      let separator = '[';
      for await (const page of pages) {
        yield separator + page.map((entry) => JSON.stringify(entryJson(entry))).join(',');
        separator = ',';
      }
      yield separator === '[' ? '[]' : ']';
    })(),
  );
}

export async function filesRoutes(app: FastifyInstance, { vfs, maxJsonBody }: FilesRouteOptions): Promise<void> {
  const respondEntry = (reply: FastifyReply, entry: Entry, status: number) =>
    reply.code(status).headers(entityHeaders(entry, vfs.instanceId)).send(entryJson(entry));

  const read = async (request: FastifyRequest, reply: FastifyReply) => {
    const { path, trailingSlash } = treeTarget(request.raw.url!, PREFIX);
    const ctx = contextOf(request);
    const entry = await vfs.stat(ctx, path);
    if (entry.type === 'file') {
      if (trailingSlash) throw new VfsError('NOT_A_DIRECTORY', `${path} is a file`, { path });
      return serveFile(vfs, ctx, entry, (e) => entityHeaders(e, vfs.instanceId), request, reply);
    }
    reply.headers(entityHeaders(entry, vfs.instanceId));
    // Fail before the first byte if the directory cannot be listed. A HEAD (the mount's stat of a
    // directory) sends no members, so it is not worth a query of them.
    if (request.method === 'HEAD') vfs.requireListable(ctx, entry, entry.path);
    else await vfs.list(ctx, path, { limit: 1 });
    reply.type('application/json; charset=utf-8');
    if (request.method === 'HEAD') return reply.send();
    return reply.send(listingStream(vfs.pages(ctx, path)));
  };

  app.get(`${PREFIX}`, read);
  app.get(`${PREFIX}/*`, read);
  app.head(`${PREFIX}`, read);
  app.head(`${PREFIX}/*`, read);

  const write = (mode: 'create' | 'replace') => async (request: FastifyRequest, reply: FastifyReply) => {
    const { path, trailingSlash } = treeTarget(request.raw.url!, PREFIX);
    const ctx = contextOf(request);
    const query = request.query as Record<string, string | undefined>;
    const parents = flag(query.parents);
    const mode_ = parseMode(request.headers['x-callfs-mode'] as string | undefined, 'X-CallFS-Mode');
    if (trailingSlash) {
      if (mode === 'replace') {
        const existing = await vfs.stat(ctx, path).catch((err: unknown) => (err instanceof VfsError && err.code === 'NOT_FOUND' ? null : Promise.reject(err)));
        if (existing?.type === 'directory') return respondEntry(reply, existing, 200);
      }
      const dir = await vfs.mkdir(ctx, path, { parents, mode: mode_ });
      return respondEntry(reply, dir, 201);
    }
    const mtime = request.headers['x-callfs-mtime'];
    const owner = { uid: parseId(request.headers['x-callfs-uid'], 'X-CallFS-UID'), gid: parseId(request.headers['x-callfs-gid'], 'X-CallFS-GID') };
    const { entry, created } = await vfs.writeFile(ctx, path, request.raw, {
      createOnly: mode === 'create',
      parents,
      ifMatch: strongTags(request.headers['if-match']),
      ifNoneMatch: weakTags(request.headers['if-none-match']),
      expectedSize: declaredLength(request),
      signal: abortSignalMaker(request),
      mode: mode_,
      mtimeMs: typeof mtime === 'string' ? parseTime(mtime, 'X-CallFS-MTime') : undefined,
      owner: owner.uid === undefined && owner.gid === undefined ? undefined : owner,
    });
    return respondEntry(reply, entry, created ? 201 : 200);
  };

  app.post(`${PREFIX}/*`, write('create'));
  app.put(`${PREFIX}/*`, write('replace'));

  app.patch(`${PREFIX}/*`, async (request, reply) => {
    const { path } = treeTarget(request.raw.url!, PREFIX);
    const ctx = contextOf(request);
    const body = await readJsonObject(request.raw, maxJsonBody);
    const known = new Set(['destination', 'overwrite', 'create_parents', 'mode', 'uid', 'gid', 'mtime']);
    const unknown = Object.keys(body).filter((k) => !known.has(k));
    if (unknown.length) throw new VfsError('INVALID_ARGUMENT', `unknown field(s): ${unknown.join(', ')}`);
    const attrs: SetAttrs = {};
    if (body.mode !== undefined) attrs.mode = parseMode(body.mode, 'mode');
    for (const key of ['uid', 'gid'] as const) {
      const value = body[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new VfsError('INVALID_ARGUMENT', `${key} must be an integer`);
      attrs[key] = value;
    }
    if (body.mtime !== undefined) attrs.mtimeMs = parseTime(body.mtime, 'mtime');
    if (body.destination !== undefined && typeof body.destination !== 'string') throw new VfsError('INVALID_ARGUMENT', 'destination must be a path string');
    for (const key of ['overwrite', 'create_parents'] as const) {
      if (body[key] !== undefined && typeof body[key] !== 'boolean') throw new VfsError('INVALID_ARGUMENT', `${key} must be true or false`);
    }
    let target = path;
    let entry: Entry | undefined;
    if (typeof body.destination === 'string') {
      const destination = normalizePath(body.destination);
      if (destination !== path && destination.startsWith(path === '/' ? '/' : path + '/')) {
        throw new VfsError('INVALID_ARGUMENT', 'cannot move a directory into itself', { path: destination });
      }
      entry = (await vfs.move(ctx, path, destination, { overwrite: body.overwrite === true, parents: body.create_parents === true })).entry;
      target = destination;
    }
    if (Object.keys(attrs).length > 0) entry = await vfs.setAttributes(ctx, target, attrs);
    entry ??= await vfs.stat(ctx, target);
    return respondEntry(reply, entry, 200);
  });

  app.delete(`${PREFIX}/*`, async (request, reply) => {
    const { path } = treeTarget(request.raw.url!, PREFIX);
    const query = request.query as Record<string, string | undefined>;
    await vfs.remove(contextOf(request), path, {
      recursive: flag(query.recursive),
      ifMatch: strongTags(request.headers['if-match']),
    });
    return reply.code(204).send();
  });
}
