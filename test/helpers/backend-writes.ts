import type { Backend, StoredBlob } from '../../src/vfs/backends/backend.js';

/** Records every write a server's backend performs, so a test can wait for them to settle. */
export function recordWrites(backend: Backend): Array<Promise<StoredBlob | Error>> {
  const writes: Array<Promise<StoredBlob | Error>> = [];
  const original = backend.write.bind(backend);
  backend.write = (source, options) => {
    const pending = original(source, options);
    writes.push(pending.then((b) => b, (e: Error) => e));
    return pending;
  };
  return writes;
}
