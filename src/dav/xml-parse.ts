import { SaxesParser } from 'saxes';
import { VfsError } from '../vfs/errors.js';

/** One element of a parsed request body, namespace-resolved. */
export interface XmlElement {
  namespace: string;
  name: string;
  attributes: XmlAttribute[];
  children: XmlNode[];
}

export interface XmlAttribute {
  namespace: string;
  name: string;
  value: string;
}

export type XmlNode = XmlElement | string;

export const DAV_NS = 'DAV:';

const badXml = (message: string) => new VfsError('INVALID_ARGUMENT', `request body is not acceptable XML: ${message}`);

/**
 * Parses a WebDAV request body into a namespace-resolved tree. A DOCTYPE is
 * refused outright (no external or internal entities, no billion laughs), as
 * is any entity other than the five predefined ones and character references.
 */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let failure: Error | null = null;
  parser.on('error', (err) => {
    failure ??= err;
  });
  parser.on('doctype', () => {
    failure ??= badXml('a DOCTYPE is not allowed');
  });
  parser.on('opentag', (tag) => {
    const attributes: XmlAttribute[] = [];
    for (const attr of Object.values(tag.attributes)) {
      // Namespace declarations are re-created when an element is serialised.
      if (attr.prefix === 'xmlns' || (attr.prefix === '' && attr.local === 'xmlns')) continue;
      attributes.push({ namespace: attr.uri, name: attr.local, value: attr.value });
    }
    const element: XmlElement = { namespace: tag.uri ?? '', name: tag.local ?? tag.name, attributes, children: [] };
    if (stack.length) stack[stack.length - 1]!.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('text', (text) => {
    if (stack.length) stack[stack.length - 1]!.children.push(text);
  });
  parser.on('cdata', (text) => {
    if (stack.length) stack[stack.length - 1]!.children.push(text);
  });
  try {
    parser.write(text);
    if (!failure) parser.close();
  } catch (err) {
    failure ??= err as Error;
  }
  if (failure) throw failure instanceof VfsError ? failure : badXml((failure as Error).message);
  if (!root) throw badXml('no root element');
  return root;
}

/** Decodes a body: UTF-8 (the default and what every client sends); a BOM is dropped. */
export function decodeXmlBody(body: Buffer): string {
  const text = body.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function elements(parent: XmlElement): XmlElement[] {
  return parent.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export function isDav(el: XmlElement, name: string): boolean {
  return el.namespace === DAV_NS && el.name === name;
}

export function childDav(parent: XmlElement, name: string): XmlElement | undefined {
  return elements(parent).find((c) => isDav(c, name));
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
