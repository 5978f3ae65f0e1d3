import { Client } from 'pg';
import { TEST_DATABASE_URL } from '../support/test-app';

/**
 * The integration suites need the real PostgreSQL server of TEST_DATABASE_URL (default: the
 * machine's, 127.0.0.1:5432, user postgres). Each creates its own database there and drops
 * it at the end, so outages it causes touch nobody else.
 */
const SERVER_URL = new URL(TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');

export interface ThrowawayDatabase {
  name: string;
  url: string;
  /** Refuses new connections and ends the current ones, as when the database goes down. */
  takeDown(): Promise<void>;
  bringUp(): Promise<void>;
  drop(): Promise<void>;
}

function urlFor(database: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function createThrowawayDatabase(prefix: string): Promise<ThrowawayDatabase> {
  const name = `${prefix}_${Date.now()}_${process.pid}`;
  // Administrative statements go through the server's `postgres` database, never the throwaway one.
  const admin = new Client({ connectionString: urlFor('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  return {
    name,
    url: urlFor(name),
    takeDown: async () => {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    },
    bringUp: async () => {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    },
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
