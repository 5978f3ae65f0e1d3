import { defineConfig } from 'prisma/config';

// Prisma 7 reads no .env and needs a URL even for `generate`: the fallback only
// satisfies the CLI; the app picks its database in src/infra/database.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/parley',
  },
});
