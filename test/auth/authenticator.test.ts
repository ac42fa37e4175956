import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { Authenticator } from '../../src/auth/authenticator.js';
import { parseAuthorization } from '../../src/auth/header.js';
import type { Config } from '../../src/config/schema.js';

const ROOT_KEY = 'root-key-0123456789abcdef';
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

function authenticator(): Authenticator {
  const auth = {
    api_keys: [ROOT_KEY],
    users: [{ name: 'carol', uid: 1003, gid: 1003, groups: [], api_keys: [], password_hash: bcrypt.hashSync('carol-password', 4) }],
  } as unknown as Config['auth'];
  return new Authenticator(auth);
}

async function verify(auth: Authenticator, header: string) {
  return auth.byHeader(header, parseAuthorization(header)!);
}

describe('Authenticator: verified headers', () => {
  test('a header is recalled only after it verified, with its principal', async () => {
    const auth = authenticator();
    const header = `Bearer ${ROOT_KEY}`;
    assert.equal(auth.recall(header), undefined);
    assert.equal((await verify(auth, header))?.uid, 0);
    assert.equal(auth.recall(header)?.uid, 0);
    assert.equal(auth.recall(`Bearer ${ROOT_KEY}x`), undefined);
    assert.equal(auth.recall(undefined), undefined);
  });

  test('a failed header is never remembered, so every guess takes the full check', async () => {
    const auth = authenticator();
    for (const header of [`Bearer ${ROOT_KEY.slice(0, -1)}`, basic('carol', 'wrong'), basic('anyone', 'nope')]) {
      assert.equal(await verify(auth, header), null);
      assert.equal(auth.recall(header), undefined);
    }
  });

  test('a bcrypt password is recalled by its header, as the user', async () => {
    const auth = authenticator();
    const header = basic('carol', 'carol-password');
    assert.equal((await verify(auth, header))?.name, 'carol');
    assert.equal(auth.recall(header)?.uid, 1003);
    // Same password, another user name: its own header, checked on its own.
    assert.equal(auth.recall(basic('dave', 'carol-password')), undefined);
    assert.equal(await verify(auth, basic('dave', 'carol-password')), null);
  });

  test('a remembered header is checked again after a minute', async (t) => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    t.after(() => mock.timers.reset());
    const auth = authenticator();
    const header = basic('anyone', ROOT_KEY);
    await verify(auth, header);
    mock.timers.tick(59_000);
    assert.equal(auth.recall(header)?.uid, 0);
    mock.timers.tick(2_000);
    assert.equal(auth.recall(header), undefined);
  });

  test('past a thousand headers the memory starts over, and verification still works', async () => {
    const auth = authenticator();
    const first = basic('user-0', ROOT_KEY);
    await verify(auth, first);
    for (let i = 1; i <= 1000; i++) await verify(auth, basic(`user-${i}`, ROOT_KEY));
    assert.equal(auth.recall(first), undefined);
    assert.equal(auth.recall(basic('user-1000', ROOT_KEY))?.uid, 0);
    assert.equal((await verify(auth, first))?.uid, 0);
  });
});
