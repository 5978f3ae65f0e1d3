#!/usr/bin/env node
// Runs the Prisma CLI offline. Every Prisma 7 command first tries to download the native
// schema engine, which this project never needs (migrations go through the WASM engine,
// see scripts/migrate-create.mjs). Pointing the variable at any existing file stops the
// download; `generate`, `validate` and `format` then work.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: {
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
    ...process.env,
  },
});
process.exit(result.status ?? 1);
