import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestIdGenerator } from '../../src/http/request-id.js';

describe('Request ids', () => {
  test('one process never repeats an id, and its ids are short header-safe tokens', () => {
    const next = requestIdGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(next());
    assert.equal(seen.size, 200_000);
    for (const id of [...seen].slice(-3)) assert.match(id, /^[0-9a-f]{12}-[0-9a-z]+$/);
  });

  test('another process (another generator) starts from another random prefix', () => {
    const prefixes = new Set(Array.from({ length: 50 }, () => requestIdGenerator()().split('-')[0]));
    // 48 random bits each: 50 of them colliding is a one-in-ten-trillion event.
    assert.equal(prefixes.size, 50);
  });
});
