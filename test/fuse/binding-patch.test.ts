import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { applyHunks, packageDir, parsePatch, patchFileFor } from '../../scripts/patch-fuse-native.mjs';

const require = createRequire(import.meta.url);

test('the installed @cocalc/fuse-native carries the utimens patch, applied idempotently, and its addon is rebuilt from it', () => {
  const dir = packageDir();
  assert.ok(dir, '@cocalc/fuse-native must be installed (npm install; needs libfuse-dev and pkg-config)');
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string };
  const files = parsePatch(readFileSync(patchFileFor(version), 'utf8'));
  assert.deepEqual(files.map((f) => f.file).sort(), ['fuse-native.c', 'index.d.ts', 'index.js']);
  for (const { file, hunks } of files) {
    const installed: string = readFileSync(path.join(dir, file), 'utf8');
    const again = applyHunks(installed, hunks, file);
    assert.equal(again.applied, 0, `${file}: applying twice changes nothing`);
    assert.equal(again.text, installed);
    // Undo the patch, then apply it to that pristine text: the installed file is what comes out.
    const pristine = applyHunks(installed, hunks.map((h) => ({ oldLines: h.newLines, newLines: h.oldLines })), file).text;
    assert.notEqual(pristine, installed);
    const patched = applyHunks(pristine, hunks, file);
    assert.equal(patched.applied, hunks.length);
    assert.equal(patched.text, installed, `${file}: the patch reproduces the installed file`);
  }
  assert.match(readFileSync(path.join(dir, 'fuse-native.c'), 'utf8'), /ops\.flag_utime_omit_ok = 1;/);
  const Fuse = require('@cocalc/fuse-native') as { UTIME_OMIT_OK?: boolean };
  assert.equal(Fuse.UTIME_OMIT_OK, true, 'the loaded addon was built from the patched source');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.postinstall, 'node scripts/patch-fuse-native.mjs');
});
