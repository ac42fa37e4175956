import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { abortSignalMaker } from '../../src/http/upload.js';
import { isVfsError } from '../../src/vfs/errors.js';

/** The two things abortSignalMaker looks at: the request's close, and whether its body was complete by then. */
function fakeRequest(): { request: FastifyRequest; raw: EventEmitter & { complete: boolean } } {
  const raw = Object.assign(new EventEmitter(), { complete: false });
  return { request: { raw } as unknown as FastifyRequest, raw };
}

describe('The abort signal of an upload', () => {
  test('aborts with ABORTED when the client leaves mid-body, whether the signal was made before or after', () => {
    const early = fakeRequest();
    const signal = abortSignalMaker(early.request)();
    assert.equal(signal.aborted, false);
    early.raw.emit('close');
    assert.ok(signal.aborted && isVfsError(signal.reason, 'ABORTED'));

    const late = fakeRequest();
    const makeSignal = abortSignalMaker(late.request);
    late.raw.emit('close');
    const madeAfter = makeSignal();
    assert.ok(madeAfter.aborted && isVfsError(madeAfter.reason, 'ABORTED'));
    assert.equal(makeSignal(), madeAfter);
  });

  test('never aborts once the whole body has arrived', () => {
    const { request, raw } = fakeRequest();
    const makeSignal = abortSignalMaker(request);
    raw.complete = true;
    raw.emit('close');
    assert.equal(makeSignal().aborted, false);
  });
});
