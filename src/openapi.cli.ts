/**
 * `npm run openapi` writes the contract to openapi.json; `npm run openapi:check` fails
 * when the committed file differs from what the code produces (CI runs it).
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, swaggerMetadataError } from './app.setup';
import { createOpenApiDocument, serializeDocument } from './common/openapi/openapi';
import { loadConfig } from './config/app.config';

const FILE = join(__dirname, '..', 'openapi.json');

async function main(mode: string): Promise<number> {
  const config = loadConfig({
    NODE_ENV: 'test',
    EMBEDDED_DB_PATH: 'memory://',
    LOG_LEVEL: 'silent',
    SWAGGER_ENABLED: 'true',
    JWT_SECRET: 'openapi-generation-only-secret-0123456789',
    ENCRYPTION_KEY: '0'.repeat(64),
  });
  const app = await createApp(config);
  try {
    await app.init();
    // Without the plugin's metadata most DTO fields would silently vanish from the contract.
    if (swaggerMetadataError) throw new Error(`Swagger metadata did not load: ${swaggerMetadataError.message}`);
    const spec = serializeDocument(createOpenApiDocument(app));
    if (mode === 'write') {
      writeFileSync(FILE, spec);
      console.log(`Wrote ${FILE}`);
      return 0;
    }
    let committed = '';
    try {
      committed = readFileSync(FILE, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (committed === spec) {
      console.log('openapi.json is up to date.');
      return 0;
    }
    console.error('openapi.json is stale: run `npm run openapi` and commit the result.');
    return 1;
  } finally {
    await app.close();
  }
}

main(process.argv[2] ?? 'check').then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error);
    process.exit(1);
  },
);
