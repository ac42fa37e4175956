#!/usr/bin/env node
// Applies patches/@cocalc+fuse-native+<version>.patch to the installed FUSE binding and rebuilds
// its addon. Run from package.json "postinstall" (and by hand: node scripts/patch-fuse-native.mjs).
//
// Why: @cocalc/fuse-native 2.4.3 as published never sets libfuse's flag_utime_omit_ok, so an
// mtime-only change (touch -m, tar, rsync -a) is silently dropped; it hands atime where mtime
// belongs; and it ignores UTIME_NOW/UTIME_OMIT. The patch fixes the C source and the JS glue.
//
// Rules: no dependencies (it runs in production installs); idempotent (a hunk already applied is
// recognised and skipped); never fails the install — the binding is optional, so a missing package,
// another version, or absent FUSE headers only print a warning.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PACKAGE = '@cocalc/fuse-native';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.error(`[patch-fuse-native] ${msg}`);

/** Parses a unified diff into [{ file, hunks: [{ oldLines, newLines }] }]. */
export function parsePatch(text) {
  const files = [];
  let file = null;
  let hunk = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('--- ')) continue;
    if (line.startsWith('+++ ')) {
      file = { file: line.slice(4).trim().replace(/^b\//, ''), hunks: [] };
      files.push(file);
      hunk = null;
    } else if (line.startsWith('@@')) {
      hunk = { oldLines: [], newLines: [] };
      file.hunks.push(hunk);
    } else if (hunk) {
      const body = line.slice(1);
      const context = line.startsWith(' ') || line === '';
      if (context || line.startsWith('-')) hunk.oldLines.push(body);
      if (context || line.startsWith('+')) hunk.newLines.push(body);
    }
  }
  // A trailing empty line of the diff text is not part of the last hunk.
  for (const f of files) {
    for (const h of f.hunks) {
      while (h.oldLines.at(-1) === '' && h.newLines.at(-1) === '') {
        h.oldLines.pop();
        h.newLines.pop();
      }
    }
  }
  return files;
}

/** Applies hunks to text. Returns { text, applied, skipped } or throws when a hunk fits nowhere. */
export function applyHunks(text, hunks, name) {
  let applied = 0;
  let skipped = 0;
  for (const { oldLines, newLines } of hunks) {
    const oldBlock = oldLines.join('\n');
    const newBlock = newLines.join('\n');
    if (text.includes(newBlock) && !text.includes(oldBlock)) {
      skipped++;
      continue;
    }
    const at = text.indexOf(oldBlock);
    if (at < 0 || text.indexOf(oldBlock, at + 1) >= 0) throw new Error(`${name}: a hunk does not apply (context not found exactly once)`);
    text = text.slice(0, at) + newBlock + text.slice(at + oldBlock.length);
    applied++;
  }
  return { text, applied, skipped };
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  // npm's bundled copy, next to the node binary (…/bin/node → …/lib/node_modules/npm/…).
  const bundled = path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return existsSync(bundled) ? bundled : null;
}

function rebuild(dir) {
  const gyp = nodeGyp();
  if (!gyp) {
    log('node-gyp not found; run `npm rebuild @cocalc/fuse-native` after installing libfuse-dev and pkg-config');
    return false;
  }
  log('rebuilding the addon with node-gyp');
  // Build against the headers installed with node when they are there, so no download is needed.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  const result = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    log('the build failed (are libfuse-dev and pkg-config installed?). `callfs mount` will not work until `npm rebuild @cocalc/fuse-native` succeeds; the server is unaffected');
    return false;
  }
  return true;
}

/** Where node would load the package from (it may be hoisted above this package's node_modules). */
export function packageDir() {
  try {
    return path.dirname(createRequire(path.join(root, 'package.json')).resolve(`${PACKAGE}/package.json`));
  } catch {
    return null;
  }
}

export function patchFileFor(version) {
  return path.join(root, 'patches', `${PACKAGE.replace('/', '+')}+${version}.patch`);
}

function main() {
  const dir = packageDir();
  if (!dir) {
    log(`${PACKAGE} is not installed (optional dependency); nothing to patch`);
    return;
  }
  const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const patchFile = patchFileFor(version);
  if (!existsSync(patchFile)) {
    log(`no patch for ${PACKAGE} ${version} (expected ${path.relative(root, patchFile)}); mtime handling may be broken`);
    return;
  }
  let changed = 0;
  for (const { file, hunks } of parsePatch(readFileSync(patchFile, 'utf8'))) {
    const target = path.join(dir, file);
    const result = applyHunks(readFileSync(target, 'utf8'), hunks, file);
    if (result.applied > 0) writeFileSync(target, result.text);
    changed += result.applied;
  }
  const addon = path.join(dir, 'build', 'Release', 'fuse.node');
  const source = path.join(dir, 'fuse-native.c');
  const stale = !existsSync(addon) || statSync(addon).mtimeMs < statSync(source).mtimeMs;
  log(changed ? `applied ${changed} hunk(s)` : 'already patched');
  if (stale || changed) rebuild(dir);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main();
  } catch (err) {
    log(`could not patch: ${err instanceof Error ? err.message : String(err)}`);
  }
}
