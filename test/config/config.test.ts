import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, envOverrides, loadConfig, maskSecrets } from '../../src/config/load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'callfs-config-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('no config at all: the embedded defaults', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.server.listen_addr, '127.0.0.1:8443');
  assert.equal(c.server.protocol, 'http');
  assert.equal(c.metadata_store.type, 'sqlite');
  assert.equal(c.backend.default_backend, 'localfs');
  assert.equal(c.dlm.type, 'local');
  assert.equal(c.server.dav_prefix, '/dav/');
  assert.equal(c.data_dir, path.resolve('data'));
});

test('environment overrides nest with double underscores and parse scalars', () => {
  assert.deepEqual(envOverrides({ CALLFS_SERVER__LISTEN_ADDR: ':9000', CALLFS_CACHE__TTL: '3', CALLFS_AUTH__API_KEYS: 'a,b', OTHER: 'x' }), {
    server: { listen_addr: ':9000' },
    cache: { ttl: 3 },
    auth: { api_keys: 'a,b' },
  });
  const c = loadConfig({
    file: file('env.yaml', 'server:\n  listen_addr: 127.0.0.1:1\n'),
    env: { CALLFS_SERVER__LISTEN_ADDR: '0.0.0.0:9443', CALLFS_AUTH__API_KEYS: 'key-one-0123456789,key-two-0123456789' },
  });
  assert.equal(c.server.listen_addr, '0.0.0.0:9443');
  assert.deepEqual(c.auth.api_keys, ['key-one-0123456789', 'key-two-0123456789']);
});

test('errors name the field and the fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['server:\n  listen_addr: nonsense\n', /server\.listen_addr: use host:port/],
    ['server:\n  protocol: https\n', /server\.cert_file: protocol https needs/],
    ['metadata_store:\n  type: postgres\n', /metadata_store\.dsn: type postgres needs a dsn/],
    ['metadata_store:\n  type: mysql\n', /metadata_store\.type/],
    ['auth:\n  api_keys: [short]\n', /auth\.api_keys\.0: API keys must be at least 16 characters/],
    ['auth:\n  users:\n    - {name: x, uid: 0, gid: 0}\n', /auth\.users\.0\.uid: uid 0 is root/],
    ['servre:\n  listen_addr: :1\n', /servre: unknown key/],
    ['server:\n  listen_adr: :1\n', /server\.listen_adr: unknown key/],
    ['backend:\n  default_backend: s3\n', /backend\.s3_bucket_name: the s3 backend needs/],
    ['- just\n- a list\n', /top level must be a mapping/],
    ['server: [unclosed\n', /not valid YAML/],
  ];
  for (const [yaml, message] of cases) {
    assert.throws(() => loadConfig({ file: file('bad.yaml', yaml), env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      return true;
    });
  }
  assert.throws(() => loadConfig({ file: path.join(dir, 'missing.yaml'), env: {} }), /cannot read config file/);
});

test('relative paths in a config file are relative to the file', () => {
  const c = loadConfig({ file: file('rel.yaml', 'data_dir: ./store\n'), env: {} });
  assert.equal(c.data_dir, path.join(dir, 'store'));
});

test('secrets are masked for display', () => {
  const masked = maskSecrets({
    auth: { api_keys: ['secret-key-0123456789'], users: [{ name: 'a', password: 'pw', api_keys: ['k'] }], internal_proxy_secret: 'x' },
    metadata_store: { dsn: 'postgres://callfs:hunter2@db/callfs' },
    backend: { s3_secret_key: 'abc', s3_access_key: 'AKIA', localfs_root_path: '/srv' },
    server: { key_file: '/etc/key.pem' },
  }) as Record<string, Record<string, unknown>>;
  const text = JSON.stringify(masked);
  for (const secret of ['secret-key-0123456789', 'hunter2', '"pw"', 'abc', 'AKIA']) assert.ok(!text.includes(secret), secret);
  assert.ok(text.includes('postgres://callfs:***@db/callfs'));
  assert.ok(text.includes('/etc/key.pem'));
  assert.ok(text.includes('/srv'));
});
