import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server the tests use: 127.0.0.1:5432, user postgres, trust auth. */
export const PG_ADMIN_DSN = process.env.CALLFS_TEST_PG_DSN ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  dsn: string;
  /** Drops the database (closing whatever connections are still open to it). */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_DSN, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is required for this test and is not reachable at ${PG_ADMIN_DSN}: ${(err as Error).message}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh, uniquely named database for one test run. */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `callfs_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_DSN);
  url.pathname = `/${name}`;
  return {
    name,
    dsn: url.toString(),
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/** Kills the server side of matching connections to a database, as a crash or a network cut would. */
export async function terminateConnections(database: string, state: 'idle in transaction' | 'idle'): Promise<number> {
  return admin(async (c) => {
    const { rowCount } = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND state = $2', [database, state]);
    return rowCount ?? 0;
  });
}
