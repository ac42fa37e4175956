import type { XmlElement } from './xml-parse.js';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

const NEEDS_ESCAPE = /[&<>\r]/;

/** Escapes text content; a CR is kept as a reference so that it survives parsing. */
export function escapeXml(text: string): string {
  // Most names and values need nothing: a test is far cheaper than a replace with a callback.
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

export function escapeAttribute(text: string): string {
  return escapeXml(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/**
 * Serialises an element so that it stands on its own: every namespace it or
 * its descendants use is declared on it, with generated prefixes. This is how
 * dead properties and lock owners are stored, and they are written back into
 * responses verbatim.
 */
export function serializeElement(root: XmlElement): string {
  const prefixes = new Map<string, string>();
  let usesEmpty = false;
  const collect = (el: XmlElement) => {
    if (el.namespace === '') usesEmpty = true;
    else if (!prefixes.has(el.namespace)) prefixes.set(el.namespace, el.namespace === 'DAV:' ? 'D' : `ns${prefixes.size}`);
    for (const a of el.attributes) {
      if (a.namespace && a.namespace !== XML_NS && !prefixes.has(a.namespace)) prefixes.set(a.namespace, `ns${prefixes.size}`);
    }
    for (const c of el.children) if (typeof c !== 'string') collect(c);
  };
  collect(root);
  const qname = (ns: string, name: string) => (ns === '' ? name : `${prefixes.get(ns)}:${name}`);
  const write = (el: XmlElement, isRoot: boolean): string => {
    let out = `<${qname(el.namespace, el.name)}`;
    if (isRoot) {
      for (const [ns, prefix] of prefixes) out += ` xmlns:${prefix}="${escapeAttribute(ns)}"`;
      if (usesEmpty) out += ' xmlns=""';
    }
    for (const a of el.attributes) {
      const name = a.namespace === XML_NS ? `xml:${a.name}` : a.namespace ? qname(a.namespace, a.name) : a.name;
      out += ` ${name}="${escapeAttribute(a.value)}"`;
    }
    if (el.children.length === 0) return out + '/>';
    out += '>';
    for (const c of el.children) out += typeof c === 'string' ? escapeXml(c) : write(c, false);
    return out + `</${qname(el.namespace, el.name)}>`;
  };
  return write(root, true);
}

/** An empty element for a property name in any namespace, declared locally. */
export function emptyElement(namespace: string, name: string): string {
  if (namespace === 'DAV:') return `<D:${name}/>`;
  return namespace === '' ? `<${name} xmlns=""/>` : `<X:${name} xmlns:X="${escapeAttribute(namespace)}"/>`;
}
