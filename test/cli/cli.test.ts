import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/http.js';
import { spawn } from 'node:child_process';

// An absolute loader URL, so the CLI also runs from a directory without node_modules.
const TSX = import.meta.resolve('tsx');
const cli = (args: string[], cwd = process.cwd()) =>
  spawnSync(process.execPath, ['--import', TSX, path.resolve('src/cli.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

test('callfs --version and --help', () => {
  const version = cli(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
  const help = cli(['--help']);
  assert.equal(help.status, 0);
  for (const cmd of ['server', 'config', 'migrate']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`));
});

test('callfs config validate: 1 with the field, 0 with a masked summary', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-cli-'));
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'server:\n  listen_addr: nowhere\n');
  const r1 = cli(['config', 'validate', '--config', bad]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /server\.listen_addr/);
  const good = path.join(dir, 'good.yaml');
  writeFileSync(good, 'auth:\n  api_keys: [super-secret-key-123456]\n');
  const r2 = cli(['config', 'validate', '--config', good]);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /configuration is valid/);
  assert.ok(!r2.stdout.includes('super-secret-key-123456'));
  assert.match(r2.stdout, /\*\*\*/);
});

test('callfs migrate creates the schema in the data directory', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-cli-'));
  const r = cli(['migrate', '--data-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(path.join(dir, 'metadata.db')));
});

test('first start with no config: admin key created 0600, printed once, and it works', async () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'callfs-fresh-'));
  const port = await freePort();
  const start = () => {
    const child = spawn(process.execPath, ['--import', TSX, path.resolve('src/cli.ts'), 'server', '--listen', `127.0.0.1:${port}`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    return { child, stderr: () => err };
  };
  const first = start();
  try {
    await waitFor(() => first.stderr().includes('curl'), 'the startup banner', 60_000);
    const keyFile = path.join(cwd, 'data', 'admin.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const key = readFileSync(keyFile, 'utf8').trim();
    assert.ok(first.stderr().includes(key), 'the new key is shown once');
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/files/`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/files/`)).status, 401);
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));
    const second = start();
    try {
      await waitFor(() => second.stderr().includes('curl'), 'the startup banner', 60_000);
      assert.ok(!second.stderr().includes(key), 'the key is not printed again');
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  } finally {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
  }
});

test('the callfs launcher runs Node with its memory flags, MALLOC_ARENA_MAX and the malloc tunables (they only take effect at startup), and without --optimize-for-size', () => {
  const probe = spawnSync(path.resolve('bin/callfs.js'), ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--require ./test/helpers/print-exec-argv.cjs' } });
  assert.equal(probe.status, 0, probe.stderr);
  const execArgv = JSON.parse(probe.stderr.trim().split('\n').find((l) => l.startsWith('execArgv '))!.slice('execArgv '.length)) as string[];
  assert.ok(execArgv.includes('--max-semi-space-size=4'), `execArgv: ${execArgv.join(' ')}`);
  assert.ok(execArgv.includes('--heap-growing-percent=300'), `execArgv: ${execArgv.join(' ')}`);
  // It halved large-transfer throughput (a full collection per ~20 MiB moved).
  assert.ok(!execArgv.includes('--optimize-for-size'), `execArgv: ${execArgv.join(' ')}`);
  // Set before Node starts (glibc reads it once), from the shebang line.
  assert.match(probe.stderr, /^MALLOC_ARENA_MAX 2$/m);
  const tunables = /^GLIBC_TUNABLES (.*)$/m.exec(probe.stderr)?.[1] ?? '';
  assert.match(tunables, /(^|:)glibc\.malloc\.trim_threshold=16777216(:|$)/, `GLIBC_TUNABLES: ${tunables}`);
  assert.match(tunables, /(^|:)glibc\.malloc\.mmap_threshold=4194304(:|$)/, `GLIBC_TUNABLES: ${tunables}`);
});
