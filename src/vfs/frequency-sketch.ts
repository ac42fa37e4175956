const ROWS = 4;
const MAX_COUNT = 15;

/**
 * How often each key was asked for lately, approximately: a count-min sketch
 * (four rows of small saturating counters; a key's count is the least of its
 * four) that halves every counter after `10 × width` additions, so that old
 * popularity fades. The memory is fixed (4 bytes per slot) however many keys
 * pass through. Used by the content cache to decide whether a new blob may
 * push out an old one (TinyLFU admission).
 */
export class FrequencySketch {
  private readonly counters: Uint8Array;
  private readonly mask: number;
  private readonly width: number;
  private readonly sampleSize: number;
  private additions = 0;

  constructor(expectedKeys: number) {
    let width = 64;
    while (width < expectedKeys * 2) width *= 2;
    this.width = width;
    this.mask = width - 1;
    this.counters = new Uint8Array(ROWS * width);
    this.sampleSize = 10 * width;
  }

  increment(key: string): void {
    const [h1, h2] = hashes(key);
    for (let row = 0; row < ROWS; row++) {
      const slot = row * this.width + ((h1 + row * h2) & this.mask);
      const count = this.counters[slot]!;
      if (count < MAX_COUNT) this.counters[slot] = count + 1;
    }
    if (++this.additions >= this.sampleSize) this.age();
  }

  frequency(key: string): number {
    const [h1, h2] = hashes(key);
    let least = MAX_COUNT;
    for (let row = 0; row < ROWS; row++) least = Math.min(least, this.counters[row * this.width + ((h1 + row * h2) & this.mask)]!);
    return least;
  }

  private age(): void {
    for (let i = 0; i < this.counters.length; i++) this.counters[i] = this.counters[i]! >> 1;
    this.additions = 0;
  }
}

/** Two 32-bit hashes of a string (FNV-1a, then a murmur3 finaliser of it); the second is odd so that rows differ. */
function hashes(key: string): [number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let g = h ^ (h >>> 16);
  g = Math.imul(g, 0x85ebca6b);
  g ^= g >>> 13;
  g = Math.imul(g, 0xc2b2ae35);
  g ^= g >>> 16;
  return [h >>> 0, (g | 1) >>> 0];
}
