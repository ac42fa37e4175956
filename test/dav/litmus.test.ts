import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN_KEY, ALICE, startTestServer, type TestServer } from '../helpers/server.js';
import { run } from './dav-client.js';

const GROUPS = ['basic', 'copymove', 'props', 'locks', 'http'];

let server: TestServer;
let workDir: string;
before(async () => {
  server = await startTestServer();
  workDir = mkdtempSync(path.join(tmpdir(), 'callfs-litmus-'));
});
after(async () => {
  await server.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function assertLitmusClean(url: string, user: string, password: string): Promise<void> {
  // litmus writes debug.log and child.log into its working directory.
  const { stdout, stderr } = await run('litmus', [url, user, password], { cwd: workDir, timeoutMs: 540_000 });
  const output = stdout + stderr;
  const summaries = new Map<string, { run: number; passed: number }>();
  for (const m of output.matchAll(/<- summary for `(\w+)': of (\d+) tests run: (\d+) passed/g)) {
    summaries.set(m[1]!, { run: Number(m[2]), passed: Number(m[3]) });
  }
  assert.deepEqual([...summaries.keys()], GROUPS, `litmus did not run every group:\n${output}`);
  for (const [group, s] of summaries) assert.equal(s.passed, s.run, `litmus group ${group}: ${s.passed}/${s.run} passed\n${output}`);
  assert.equal([...summaries.values()].reduce((n, s) => n + s.run, 0), 104, 'litmus 0.13 runs 104 tests');
  const warnings = output.split('\n').filter((l) => /WARNING/i.test(l) || /warnings? (was|were) issued/i.test(l));
  assert.deepEqual(warnings, [], `litmus issued warnings:\n${output}`);
  assert.doesNotMatch(output, /FAIL/, output);
}

test('litmus 0.13: every group passes with zero failures and zero warnings', { timeout: 600_000 }, async () => {
  await assertLitmusClean(`${server.url}/dav/`, 'litmus', ADMIN_KEY);
});

test('litmus 0.13 as an ordinary user (name and password) in a directory the user owns', { timeout: 600_000 }, async () => {
  assert.equal((await server.request('POST', '/v1/files/alice/')).status, 201);
  const chown = await server.request('PATCH', '/v1/files/alice', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ uid: ALICE.uid, gid: ALICE.gid }) });
  assert.equal(chown.status, 200);
  await assertLitmusClean(`${server.url}/dav/alice/`, ALICE.name, ALICE.password);
});
