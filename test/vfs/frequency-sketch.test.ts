import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrequencySketch } from '../../src/vfs/frequency-sketch.js';

test('frequency sketch: counts keys apart, saturates at 15, and halves every count after its sample size', () => {
  const sketch = new FrequencySketch(1000);
  for (let i = 0; i < 10; i++) sketch.increment('often');
  sketch.increment('once');
  assert.equal(sketch.frequency('often'), 10);
  assert.equal(sketch.frequency('once'), 1);
  assert.equal(sketch.frequency('never'), 0);
  // Width 2048 (the first power of two from 64 at least twice the expected keys): halving after 20,480 additions.
  for (let i = 0; i < 20_480 - 12; i++) sketch.increment('hot');
  assert.equal(sketch.frequency('hot'), 15, 'saturated');
  sketch.increment('hot');
  assert.equal(sketch.frequency('often'), 5, 'halved');
  assert.equal(sketch.frequency('hot'), 7);
  assert.equal(sketch.frequency('once'), 0);
});
