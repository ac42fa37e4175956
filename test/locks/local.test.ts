import { LocalLockManager } from '../../src/vfs/locks/local.js';
import { lockManagerContract } from '../contracts/lock-manager.js';

lockManagerContract('local', async () => {
  const manager = new LocalLockManager(1500);
  return { a: manager, b: manager, acquireTimeoutMs: 1500, cleanup: () => manager.close() };
});
