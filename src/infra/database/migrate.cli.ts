/**
 * `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded
 * database when it is unset). Used by operators and Kubernetes jobs before a rollout.
 */
import 'reflect-metadata';
import { loadConfig } from '../../config/app.config';
import { openDatabase } from './database.adapters';
import { runMigrations } from './prisma.service';

async function main(): Promise<void> {
  const connection = await openDatabase(loadConfig());
  try {
    const applied = await runMigrations(connection);
    console.log(applied.length ? `Applied ${applied.length} migration(s).` : 'Database is up to date.');
  } finally {
    await connection.close();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
