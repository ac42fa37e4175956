import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVfsError } from '../../src/vfs/errors.js';
import { ancestorsOf, isWithin, normalizePath, normalizeUrlPath, parentOf } from '../../src/vfs/path.js';

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

test('normalizeUrlPath decodes once and refuses bad escapes', () => {
  assert.equal(normalizeUrlPath('/a%20b/c%2Fd'), '/a b/c/d');
  assert.equal(normalizeUrlPath('/%25'), '/%');
  for (const bad of ['/%2e%2e', '/%2E%2E/x', '/%00', '/%zz', '/%ff', '/a/%2e%2e/%2e%2e']) {
    assert.throws(() => normalizeUrlPath(bad), (e) => isVfsError(e, 'INVALID_PATH'), bad);
  }
});

test('path helpers', () => {
  assert.equal(parentOf('/a/b'), '/a');
  assert.equal(parentOf('/a'), '/');
  assert.deepEqual(ancestorsOf('/a/b/c'), ['/', '/a', '/a/b']);
  assert.ok(isWithin('/a/b', '/a'));
  assert.ok(!isWithin('/ab', '/a'));
  assert.ok(isWithin('/anything', '/'));
});
