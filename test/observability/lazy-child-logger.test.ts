import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino, { type Logger } from 'pino';
import { LazyChildLogger, lazyChildLoggerFactory } from '../../src/observability/lazy-child-logger.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A pino logger writing JSON lines into `lines`, and a count of the children made from it. */
function capturing(level: string): { logger: Logger; lines: Array<Record<string, unknown>>; children: () => number } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  let made = 0;
  const child = logger.child;
  // Children inherit this property: `this` is whichever logger the child is made from.
  logger.child = function (this: Logger, ...args: Parameters<Logger['child']>) {
    made++;
    return child.apply(this, args);
  } as Logger['child'];
  return { logger, lines, children: () => made };
}

describe('LazyChildLogger', () => {
  test('makes no child while nothing reaches the configured level', () => {
    const { logger, lines, children } = capturing('warn');
    const lazy = new LazyChildLogger(logger, { reqId: 'r1' }, {});
    lazy.info({ a: 1 }, 'dropped');
    lazy.debug('dropped');
    lazy.trace('dropped');
    assert.equal(lazy.level, 'warn');
    assert.equal(lazy.isLevelEnabled('info'), false);
    assert.equal(children(), 0);
    assert.deepEqual(lines, []);
  });

  test('a message at the level is written with the bindings, through one child made once', () => {
    const { logger, lines, children } = capturing('warn');
    const lazy = new LazyChildLogger(logger, { reqId: 'r2' }, {});
    lazy.warn({ a: 1 }, 'first');
    lazy.error(new Error('boom'), 'second');
    assert.equal(children(), 1);
    assert.equal(lines.length, 2);
    assert.deepEqual([lines[0]!.reqId, lines[0]!.a, lines[0]!.msg], ['r2', 1, 'first']);
    assert.equal(lines[1]!.reqId, 'r2');
    assert.equal((lines[1]!.err as { message: string }).message, 'boom');
  });

  test('child() carries the request bindings and its own', () => {
    const { logger, lines } = capturing('info');
    const lazy = new LazyChildLogger(logger, { reqId: 'r3' }, {});
    lazy.child({ trace_id: 't' }).info('traced');
    assert.deepEqual([lines[0]!.reqId, lines[0]!.trace_id, lines[0]!.msg], ['r3', 't', 'traced']);
    assert.deepEqual(lazy.bindings(), { reqId: 'r3' });
  });

  test('a route with its own level gets a real child at once, so that level applies', () => {
    const { logger, lines, children } = capturing('warn');
    const child = lazyChildLoggerFactory(logger, { reqId: 'r4' }, { level: 'debug' });
    assert.equal(children(), 1);
    child.debug('kept');
    assert.equal(lines[0]!.msg, 'kept');
  });
});

describe('request loggers in the server', () => {
  let t: TestServer;
  const logLines: string[] = [];
  before(async () => {
    t = await startTestServer({ logLines });
  });
  after(async () => {
    await t.close();
  });

  test('a failed login is logged with the request id the client was given', async () => {
    const res = await t.request('GET', '/v1/files/', { key: 'not-a-key' });
    assert.equal(res.status, 401);
    const id = res.headers.get('x-request-id');
    assert.ok(id);
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === id && /Authentication failed/.test(String(l.msg)));
    assert.ok(line, `no warning carrying reqId ${id} in ${logLines.length} lines`);
    assert.equal(line.level, 40);
  });

  test('the access line of a request carries its request id and a trace id the client sent', async () => {
    const res = await t.request('GET', '/v1/files/', { headers: { 'x-trace-id': 'trace-42' } });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-request-id');
    const access = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === id && l.msg === 'HTTP request');
    assert.ok(access, `no access line for ${id}`);
    assert.equal(access.trace_id, 'trace-42');
    assert.equal(access.status, 200);
  });
});
