/** Parsed Authorization header; secrets stay in memory only for the check. */
export type Credentials = { scheme: 'bearer'; token: string } | { scheme: 'basic'; user: string; password: string } | null;

export function parseAuthorization(header: string | undefined): Credentials {
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && value) return { scheme: 'bearer', token: value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return null;
}
