import { hash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Config } from '../config/schema.js';
import { ROOT_PRINCIPAL, type Principal } from '../vfs/types.js';
import type { Credentials } from './header.js';

// One-shot hashing: WebDAV clients send credentials on every request, and a Hash object per call shows in profiles.
const digest = (s: string) => hash('sha256', s, 'buffer');

interface KeyEntry {
  digest: Buffer;
  principal: Principal;
}

interface PasswordEntry {
  principal: Principal;
  plainDigest?: Buffer;
  bcryptHash?: string;
}

/** How long a verified Authorization header is accepted without checking it again. */
const REMEMBER_MS = 60_000;
/** Verified headers kept at most; past that the memory starts over (each client re-verifies once). */
const REMEMBER_MAX = 1000;

/**
 * Turns credentials into a Principal. API keys from auth.api_keys act as root;
 * a user's keys and password act as that user. Every comparison runs over
 * digests in constant time and every candidate is checked, so timing does not
 * reveal which key nearly matched.
 */
export class Authenticator {
  private readonly keys: KeyEntry[] = [];
  private readonly passwords = new Map<string, PasswordEntry>();
  /**
   * Authorization headers that verified, by their exact text. Clients send the
   * same header on every request, and checking it costs a digest, a scan of
   * every key and, for a bcrypt hash, tens of milliseconds. Only successes are
   * kept, so a guess never skips the full constant-time check. The header
   * carries its secret (Basic is only base64), which therefore stays in memory
   * for up to a minute after it was verified instead of leaving with its request.
   */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(auth: Config['auth'], extraRootKeys: readonly string[] = []) {
    for (const key of [...auth.api_keys, ...extraRootKeys]) this.keys.push({ digest: digest(key), principal: ROOT_PRINCIPAL });
    for (const u of auth.users) {
      const principal: Principal = Object.freeze({ name: u.name, uid: u.uid, gid: u.gid, groups: Object.freeze([...u.groups]) });
      for (const key of u.api_keys) this.keys.push({ digest: digest(key), principal });
      if (u.password || u.password_hash) {
        this.passwords.set(u.name, { principal, plainDigest: u.password ? digest(u.password) : undefined, bcryptHash: u.password_hash });
      }
    }
  }

  /** The principal of an Authorization header verified in the last minute; undefined when it must be checked. */
  recall(header: string | undefined): Principal | undefined {
    const known = header === undefined ? undefined : this.verified.get(header);
    return known !== undefined && known.until > Date.now() ? known.principal : undefined;
  }

  /** Checks the credentials parsed from an Authorization header; a success is remembered by the header's text. */
  async byHeader(header: string, credentials: NonNullable<Credentials>): Promise<Principal | null> {
    const principal = credentials.scheme === 'bearer' ? this.byApiKey(credentials.token) : await this.byPassword(credentials.user, credentials.password);
    if (principal) {
      if (this.verified.size >= REMEMBER_MAX) this.verified.clear();
      this.verified.set(header, { principal, until: Date.now() + REMEMBER_MS });
    }
    return principal;
  }

  get hasCredentials(): boolean {
    return this.keys.length > 0 || this.passwords.size > 0;
  }

  byApiKey(key: string): Principal | null {
    const candidate = digest(key);
    let match: Principal | null = null;
    for (const entry of this.keys) {
      if (timingSafeEqual(entry.digest, candidate) && match === null) match = entry.principal;
    }
    return match;
  }

  /** HTTP Basic: a user's name and password, or any name with an API key as the password. */
  async byPassword(name: string, password: string): Promise<Principal | null> {
    const entry = this.passwords.get(name);
    if (entry) {
      const candidate = digest(password);
      if (entry.plainDigest && timingSafeEqual(entry.plainDigest, candidate)) return entry.principal;
      if (entry.bcryptHash && (await bcrypt.compare(password, entry.bcryptHash))) return entry.principal;
    }
    return this.byApiKey(password);
  }
}
