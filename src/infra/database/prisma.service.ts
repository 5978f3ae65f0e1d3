import { Logger, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../../config/app.config';
import { DatabaseConnection, openDatabase } from './database.adapters';
import { PrismaClient } from './generated/client';
import { migrate } from './migrator';

/**
 * The Prisma client on either engine. Only repositories use it. The embedded engine is
 * always migrated at start; PostgreSQL only when MIGRATE_ON_START=true (otherwise
 * `npm run db:migrate`, e.g. as a Kubernetes init job).
 */
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  private static readonly logger = new Logger('Database');

  private constructor(private readonly connection: DatabaseConnection) {
    super({ adapter: connection.adapter });
  }

  get engine(): DatabaseConnection['engine'] {
    return this.connection.engine;
  }

  static async connect(config: AppConfig): Promise<PrismaService> {
    const connection = await openDatabase(config);
    if (connection.engine === 'pglite' || config.MIGRATE_ON_START) {
      await runMigrations(connection);
    }
    const prisma = new PrismaService(connection);
    await prisma.$connect();
    PrismaService.logger.log(`Connected to ${connection.engine === 'pglite' ? `embedded PGlite (${config.embeddedDbPath})` : 'PostgreSQL'}`);
    return prisma;
  }

  /** Round-trip time of a trivial query, in milliseconds; throws when the database is unreachable. */
  async ping(): Promise<number> {
    const started = performance.now();
    await this.$queryRaw`SELECT 1`;
    return Math.round((performance.now() - started) * 10) / 10;
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.connection.close();
  }

  /** Test hook: closes the underlying engine, as when the database goes away. */
  async closeConnection(): Promise<void> {
    await this.connection.close();
    await this.$disconnect();
  }
}

export async function runMigrations(connection: DatabaseConnection): Promise<string[]> {
  const logger = new Logger('Migrations');
  const { session, release } = await connection.migrationSession();
  try {
    return await migrate(session, { info: (m) => logger.log(m), warn: (m) => logger.warn(m) });
  } finally {
    await release();
  }
}
