import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { TallyCounter, TallyHistogram } from '../../src/observability/tally.js';

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const METHODS = ['GET', 'PUT', 'PROPFIND'];
const PATHS = ['/dav/*', '/v1/files/*', 'unmatched'];
const BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.1, 1];

describe('Tally metrics expose what prom-client exposes for the same observations', () => {
  test('counters and histograms, bound and unbound, over many label sets and values', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const families = { name: 'requests_total', help: 'Requests.', labelNames: ['method', 'path'] as const };
    const timing = { name: 'duration_seconds', help: 'Durations "quoted" and \\ escaped.', labelNames: ['method', 'path'] as const, buckets: BUCKETS };
    const promCounter = new Counter({ ...families, registers: [theirs] });
    const promHistogram = new Histogram({ ...timing, registers: [theirs] });
    const promDefault = new Histogram({ name: 'default_seconds', help: 'Default buckets.', labelNames: ['op'] as const, registers: [theirs] });
    const tallyCounter = new TallyCounter({ ...families, registers: [ours] });
    const tallyHistogram = new TallyHistogram({ ...timing, registers: [ours] });
    const tallyDefault = new TallyHistogram({ name: 'default_seconds', help: 'Default buckets.', labelNames: ['op'] as const, registers: [ours] });

    const next = random(42);
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
    for (let i = 0; i < 5_000; i++) {
      const labels = { method: pick(METHODS), path: pick(PATHS) };
      // Values on, between, below and above the bounds.
      const value = next() < 0.2 ? pick([...BUCKETS, 0, 5]) : next() ** 4 * 2;
      if (i % 2) {
        promCounter.labels(labels).inc();
        tallyCounter.labels(labels).inc();
        promHistogram.labels(labels).observe(value);
        tallyHistogram.labels(labels).observe(value);
      } else {
        promCounter.inc(labels, 3);
        tallyCounter.inc(labels, 3);
        promHistogram.observe(labels, value);
        tallyHistogram.observe(labels, value);
      }
      if (i % 7 === 0) {
        promDefault.observe({ op: 'open' }, value * 10);
        tallyDefault.observe({ op: 'open' }, value * 10);
      }
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    // prom-client adds an empty exemplar slot to each of its histogram values; it has no exemplars to show here.
    const withoutExemplars = (json: unknown) => JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === 'exemplar' ? undefined : value))) as unknown;
    assert.deepEqual(withoutExemplars(await ours.getMetricsAsJSON()), withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  test('a label set is exposed in the order of its first use, and reset empties the family', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const config = { name: 'events_total', help: 'Events.', labelNames: ['operation', 'cache_type'] as const };
    const prom = new Counter({ ...config, registers: [theirs] });
    const tally = new TallyCounter({ ...config, registers: [ours] });
    for (const operation of ['miss', 'hit', 'miss', 'update']) {
      prom.inc({ operation, cache_type: 'metadata' });
      tally.inc({ operation, cache_type: 'metadata' });
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    ours.resetMetrics();
    theirs.resetMetrics();
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /^# HELP events_total Events\.\n# TYPE events_total counter\n$/);
  });

  test('a label the family does not have is refused, as prom-client refuses it', () => {
    const tally = new TallyCounter({ name: 'x_total', help: 'X.', labelNames: ['operation'] as const, registers: [] });
    assert.throws(() => tally.inc({ operation: 'a', status: 'b' } as never), /label "status"/);
    const histogram = new TallyHistogram({ name: 'x_seconds', help: 'X.', labelNames: ['operation'] as const, registers: [] });
    assert.throws(() => histogram.observe({ op: 'a' } as never, 1), /label "op"/);
  });

  test('two families of one name cannot share a registry', () => {
    const registry = new Registry();
    new TallyCounter({ name: 'same_total', help: 'A.', labelNames: [], registers: [registry] });
    assert.throws(() => new TallyCounter({ name: 'same_total', help: 'B.', labelNames: [], registers: [registry] }), /already been registered/);
  });
});
