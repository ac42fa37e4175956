import { PostgresStore } from '../../src/vfs/metadata/postgres.js';
import { metadataStoreContract } from '../contracts/metadata-store.js';
import { createTestDatabase } from '../helpers/postgres.js';

metadataStoreContract('postgres', async () => {
  const db = await createTestDatabase('contract');
  return { store: new PostgresStore({ dsn: db.dsn }), cleanup: () => db.drop() };
});
