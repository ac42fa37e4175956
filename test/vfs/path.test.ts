import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVfsError } from '../../src/vfs/errors.js';
import { ancestorsOf, depthOf, isWithin, normalizePath, normalizeUrlPath, parentOf } from '../../src/vfs/path.js';

test('normalizePath collapses //, . and non-escaping ..', () => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['', '/'],
    ['//a///b/', '/a/b'],
    ['/a/./b/.', '/a/b'],
    ['/a/../b', '/b'],
    ['a/b', '/a/b'],
    ['/a/b/../../c', '/c'],
    ['/…/ünï cödé', '/…/ünï cödé'],
  ];
  for (const [input, output] of cases) assert.equal(normalizePath(input), output, input);
});

test('normalizePath refuses escapes, control characters and oversize names/paths', () => {
  for (const bad of ['/..', '/a/../..', '../x', '/a\u0000b', '/a\nb', '/a\u007fb', '/' + 'x'.repeat(256), '/' + 'ab/'.repeat(1400), '/\ud800']) {
    assert.throws(() => normalizePath(bad), (e) => isVfsError(e, 'INVALID_PATH'), JSON.stringify(bad.slice(0, 20)));
  }
  assert.equal(normalizePath('/' + 'x'.repeat(255)).length, 256);
  assert.equal(normalizePath('/' + 'é'.repeat(127)).length, 128);
  assert.throws(() => normalizePath('/' + 'é'.repeat(128)), (e) => isVfsError(e, 'INVALID_PATH'));
});

test('normalizePath agrees with a plain split-and-join on random paths, normal ones included', () => {
  // The reference: what the normaliser means, without its shortcut for paths that are already normal.
  const reference = (raw: string): string | 'INVALID' => {
    const out: string[] = [];
    for (const segment of raw.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (out.length === 0) return 'INVALID';
        out.pop();
        continue;
      }
      if (Buffer.byteLength(segment, 'utf8') > 255) return 'INVALID';
      out.push(segment);
    }
    return '/' + out.join('/');
  };
  const pieces = ['/', '/', '.', '..', 'a', 'bc', '...', '.a', 'a.', 'é', 'x'.repeat(84), 'é'.repeat(43), 'ü'.repeat(86)];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  let normalInputs = 0;
  for (let i = 0; i < 20_000; i++) {
    let raw = i % 2 ? '/' : '';
    for (let n = next() % 8; n > 0; n--) raw += pieces[next() % pieces.length];
    const expected = reference(raw);
    let actual: string;
    try {
      actual = normalizePath(raw);
    } catch (err) {
      assert.ok(isVfsError(err, 'INVALID_PATH'));
      actual = 'INVALID';
    }
    assert.equal(actual, expected, JSON.stringify(raw));
    if (expected === raw) normalInputs++;
  }
  assert.ok(normalInputs > 1000, `only ${normalInputs} inputs were already normal`);
});

test('normalizeUrlPath decodes once and refuses bad escapes', () => {
  assert.equal(normalizeUrlPath('/a%20b/c%2Fd'), '/a b/c/d');
  assert.equal(normalizeUrlPath('/%25'), '/%');
  for (const bad of ['/%2e%2e', '/%2E%2E/x', '/%00', '/%zz', '/%ff', '/a/%2e%2e/%2e%2e']) {
    assert.throws(() => normalizeUrlPath(bad), (e) => isVfsError(e, 'INVALID_PATH'), bad);
  }
});

test('path helpers', () => {
  assert.deepEqual(['/', '/a', '/a/b', '/a/b/ccc'].map(depthOf), [0, 1, 2, 3]);
  assert.equal(parentOf('/a/b'), '/a');
  assert.equal(parentOf('/a'), '/');
  assert.deepEqual(ancestorsOf('/a/b/c'), ['/', '/a', '/a/b']);
  assert.ok(isWithin('/a/b', '/a'));
  assert.ok(!isWithin('/ab', '/a'));
  assert.ok(isWithin('/anything', '/'));
});
