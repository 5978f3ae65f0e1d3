import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { AppConfig } from '../../config/app.config';
import { isShared, makePrivateDir } from '../../config/dev-secrets';
import { SqlSession } from './migrator';

/** What PrismaService needs from either engine. */
export interface DatabaseConnection {
  engine: 'pglite' | 'postgresql';
  adapter: SqlDriverAdapterFactory;
  /** A session for migrations, closed by the caller via `release`. */
  migrationSession(): Promise<{ session: SqlSession; release: () => Promise<void> }>;
  close(): Promise<void>;
}

/** Every PGlite instance loads the same extensions, so migrations behave as on PostgreSQL. */
export const PGLITE_EXTENSIONS = { pg_trgm };

/**
 * Takes group and other access off the embedded database's directory and everything in
 * it (symbolic links are left alone). PGlite creates its files 0666 whatever the umask, so
 * the owner-only directories are what keeps them private; this tightens the files too.
 * Returns the paths it changed.
 */
export function restrictEmbeddedDatabase(path: string): string[] {
  const changed: string[] = [];
  const visit = (p: string) => {
    const stat = lstatSync(p, { throwIfNoEntry: false });
    if (!stat || stat.isSymbolicLink()) return;
    if (isShared(stat.mode)) {
      chmodSync(p, stat.mode & 0o700);
      changed.push(p);
    }
    if (stat.isDirectory()) for (const entry of readdirSync(p)) visit(join(p, entry));
  };
  if (!path.startsWith('memory://')) visit(path);
  return changed;
}

export async function openPglite(path: string): Promise<DatabaseConnection> {
  // DATA_DIR and the database directory are created for the owner only (0700).
  if (!path.startsWith('memory://')) makePrivateDir(path);
  const db = await PGlite.create(path, { extensions: PGLITE_EXTENSIONS });
  const session: SqlSession = {
    query: async <T>(sql: string, params?: unknown[]) => (await db.query<T>(sql, params)).rows,
    exec: async (script) => void (await db.exec(script)),
  };
  return {
    engine: 'pglite',
    adapter: new PrismaPGlite(db),
    migrationSession: async () => ({ session, release: async () => undefined }),
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}

/** Bound on opening a PostgreSQL connection (or waiting for a free one in the pool). */
export const CONNECT_TIMEOUT_MS = 5000;

export function openPostgres(config: AppConfig): DatabaseConnection {
  const url = config.DATABASE_URL!;
  // Our own pool, so close() really ends it (Prisma leaves a pool it was given alone).
  // A server that does not answer fails the request after CONNECT_TIMEOUT_MS (a 503) instead of hanging it.
  const pool = new Pool({ connectionString: url, max: config.DATABASE_POOL_MAX, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  let ended = false;
  return {
    engine: 'postgresql',
    adapter: new PrismaPg(pool),
    migrationSession: async () => {
      const client = new Client({ connectionString: url });
      await client.connect();
      const session: SqlSession = {
        query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
        // The simple query protocol runs a whole script (unlike adapter-pg's `;` splitting).
        exec: async (script) => void (await client.query(script)),
      };
      return { session, release: () => client.end() };
    },
    close: async () => {
      if (ended) return;
      ended = true;
      await pool.end();
    },
  };
}

export async function openDatabase(config: AppConfig): Promise<DatabaseConnection> {
  return config.DATABASE_URL ? openPostgres(config) : openPglite(config.embeddedDbPath);
}
