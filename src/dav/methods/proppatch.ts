import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeadProperty } from '../../vfs/metadata/store.js';
import type { DavEnv } from '../env.js';
import { prepare, readXml } from '../env.js';
import { DavStatusError } from '../errors.js';
import { isLiveProperty } from '../live-props.js';
import { multistatusBody, propstatResponse, type PropstatGroups } from '../multistatus.js';
import { DAV_NS, elements, isDav, textOf, type XmlElement } from '../xml-parse.js';
import { emptyElement, serializeElement } from '../xml-write.js';

const MS_NS = 'urn:schemas-microsoft-com:';

interface Instruction {
  op: 'set' | 'remove';
  element: XmlElement;
}

function parseInstructions(body: XmlElement | null): Instruction[] {
  if (!body || !isDav(body, 'propertyupdate')) throw new DavStatusError(400, 'the body of a PROPPATCH must be a DAV:propertyupdate element');
  const out: Instruction[] = [];
  for (const child of elements(body)) {
    const op = isDav(child, 'set') ? 'set' : isDav(child, 'remove') ? 'remove' : null;
    if (!op) continue;
    const prop = elements(child).find((e) => isDav(e, 'prop'));
    if (!prop) throw new DavStatusError(400, `DAV:${op} needs a DAV:prop`);
    for (const element of elements(prop)) out.push({ op, element });
  }
  if (out.length === 0) throw new DavStatusError(400, 'a DAV:propertyupdate needs at least one property');
  return out;
}

/**
 * PROPPATCH (RFC 4918 §9.2): all instructions succeed or none is applied.
 * Live properties are protected (403, the others 424). Dead properties keep
 * their namespace, attributes (xml:lang) and children exactly. Windows sends
 * Win32LastModifiedTime and friends; they are stored, and the modification
 * time is applied to the file, as Explorer expects.
 */
export async function proppatch(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  const instructions = parseInstructions(await readXml(env, request));
  const entry = await env.vfs.stat(ctx, ctx.path);
  const key = (el: XmlElement) => `${el.namespace}\u0000${el.name}`;
  const protectedKeys = new Set(instructions.filter((i) => i.element.namespace === DAV_NS && isLiveProperty(i.element.name)).map((i) => key(i.element)));
  const groups: PropstatGroups = new Map();
  const add = (status: number, el: XmlElement) => {
    const list = groups.get(status) ?? [];
    const name = emptyElement(el.namespace, el.name);
    if (!list.includes(name)) list.push(name);
    groups.set(status, list);
  };
  if (protectedKeys.size > 0) {
    // Nothing is applied, but permission and lock failures still take precedence over the 207.
    await env.vfs.patchProperties(ctx, ctx.path, [], []);
    for (const i of instructions) add(protectedKeys.has(key(i.element)) ? 403 : 424, i.element);
    return reply.code(207).type('application/xml; charset=utf-8').send(multistatusBody([propstatResponse(env.paths.hrefOfEntry(entry), groups)]));
  }
  // The last instruction for a name wins (set then remove removes; remove then set sets).
  const net = new Map<string, Instruction>();
  for (const i of instructions) {
    net.delete(key(i.element));
    net.set(key(i.element), i);
  }
  const set: DeadProperty[] = [];
  const remove: Array<Pick<DeadProperty, 'namespace' | 'name'>> = [];
  let mtimeMs: number | undefined;
  for (const i of net.values()) {
    const { namespace, name } = i.element;
    if (i.op === 'set') {
      set.push({ namespace, name, value: serializeElement(i.element) });
      if (namespace === MS_NS && name === 'Win32LastModifiedTime') {
        const ms = Date.parse(textOf(i.element).trim());
        if (!Number.isNaN(ms)) mtimeMs = ms;
      }
    } else {
      remove.push({ namespace, name });
    }
  }
  await env.vfs.patchProperties(ctx, ctx.path, set, remove);
  if (mtimeMs !== undefined) await env.vfs.setAttributes(ctx, ctx.path, { mtimeMs });
  for (const i of instructions) add(200, i.element);
  return reply.code(207).type('application/xml; charset=utf-8').send(multistatusBody([propstatResponse(env.paths.hrefOfEntry(entry), groups)]));
}
