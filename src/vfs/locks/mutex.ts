/** A FIFO async mutex. `run` executes fn once every earlier holder has finished. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = 0;

  get locked(): boolean {
    return this.held > 0;
  }

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => next);
    this.held++;
    await previous;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.held--;
      release();
    };
  }

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** One Mutex per key, created on demand and dropped when nobody holds or waits for it. */
export class KeyedMutex {
  private readonly mutexes = new Map<string, Mutex>();

  get size(): number {
    return this.mutexes.size;
  }

  async acquire(key: string): Promise<() => void> {
    let mutex = this.mutexes.get(key);
    if (!mutex) {
      mutex = new Mutex();
      this.mutexes.set(key, mutex);
    }
    const release = await mutex.acquire();
    const owner = mutex;
    return () => {
      release();
      if (!owner.locked && this.mutexes.get(key) === owner) this.mutexes.delete(key);
    };
  }
}
