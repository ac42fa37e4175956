import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A link token is `<id>.<mac>`: a random id (the row key in the metadata
 * store) and an HMAC of it with auth.single_use_link_secret. A forged or
 * mistyped token fails the MAC check without touching the database.
 */
export class LinkTokens {
  constructor(private readonly secret: string) {}

  private mac(id: string): string {
    return createHmac('sha256', this.secret).update(id).digest('base64url').slice(0, 32);
  }

  issue(): { id: string; token: string } {
    const id = randomBytes(18).toString('base64url');
    return { id, token: `${id}.${this.mac(id)}` };
  }

  /** The id of a genuine token, or null. */
  verify(token: string): string | null {
    const m = /^([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{32})$/.exec(token);
    if (!m) return null;
    const expected = Buffer.from(this.mac(m[1]!));
    const given = Buffer.from(m[2]!);
    return expected.length === given.length && timingSafeEqual(expected, given) ? m[1]! : null;
  }
}
