import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { validatorHeaders } from '../../http/entity-headers.js';
import { serveFile } from '../../http/serve-file.js';
import type { Entry } from '../../vfs/types.js';
import type { DavEnv } from '../env.js';
import { prepare } from '../env.js';
import { escapeAttribute, escapeXml } from '../xml-write.js';

/** GET and HEAD: files through the shared serve-file (Range, validators); collections as a small HTML index. */
export async function getHead(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  const entry = await env.vfs.stat(ctx, ctx.path);
  if (entry.type === 'file') return serveFile(env.vfs, ctx, entry, validatorHeaders, request, reply);
  // As for REST: a HEAD is refused as a GET would be, without a query of the members it does not send.
  if (request.method === 'HEAD') env.vfs.requireListable(ctx, entry, entry.path);
  else await env.vfs.list(ctx, entry.path, { limit: 1 });
  reply.headers(validatorHeaders(entry)).type('text/html; charset=utf-8');
  if (request.method === 'HEAD') return reply.send();
  return reply.send(Readable.from(index(env, entry, env.vfs.iterate(ctx, entry.path))));
}

async function* index(env: DavEnv, dir: Entry, entries: AsyncIterable<Entry>): AsyncGenerator<string> {
  const title = escapeXml(env.paths.hrefOf(dir.path, true));
  yield `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><ul>\n`;
  for await (const e of entries) {
    const href = escapeAttribute(env.paths.hrefOfEntry(e));
    yield `<li><a href="${href}">${escapeXml(e.name)}${e.type === 'directory' ? '/' : ''}</a></li>\n`;
  }
  yield '</ul></body></html>\n';
}
