import { hash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Config } from '../config/schema.js';
import { ROOT_PRINCIPAL, type Principal } from '../vfs/types.js';

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

/**
 * Turns credentials into a Principal. API keys from auth.api_keys act as root;
 * a user's keys and password act as that user. Every comparison runs over
 * digests in constant time and every candidate is checked, so timing does not
 * reveal which key nearly matched.
 */
export class Authenticator {
  private readonly keys: KeyEntry[] = [];
  private readonly passwords = new Map<string, PasswordEntry>();
  /** bcrypt is slow by design; WebDAV clients send credentials on every request. */
  private readonly verified = new Map<string, number>();

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
      if (entry.bcryptHash) {
        const cacheKey = `${name}\0${candidate.toString('hex')}`;
        const until = this.verified.get(cacheKey);
        if (until !== undefined && until > Date.now()) return entry.principal;
        if (await bcrypt.compare(password, entry.bcryptHash)) {
          if (this.verified.size > 1000) this.verified.clear();
          this.verified.set(cacheKey, Date.now() + 60_000);
          return entry.principal;
        }
      }
    }
    return this.byApiKey(password);
  }
}
