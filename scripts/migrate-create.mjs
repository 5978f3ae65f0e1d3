#!/usr/bin/env node
// Offline replacement for `prisma migrate dev --create-only --name <name>`.
//
//   npm run db:migrate:create -- <name>   create prisma/migrations/<timestamp>_<name>/migration.sql
//   npm run db:migrate:create -- --check  exit 1 if the schema has changes no migration captures
//   --schema <file>                        diff another schema file than prisma/schema.prisma
//
// Why: every Prisma 7 migrate command needs the native schema engine, which is downloaded from
// Prisma's binary host (unreachable here) and shipped by no npm package. The same engine compiled
// to WASM is on npm (@prisma/schema-engine-wasm, the version matching the CLI's engine hash); it
// talks to the database through a driver adapter. We give it in-memory PGlite databases (main and
// shadow), replay the committed migrations, and let it diff them against the schema. The engine
// calls (applyMigrations, devDiagnostic, evaluateDataLoss, createMigration) and the files written
// follow the CLI's own `migrate dev --create-only`, so the result is what the CLI would write.
import { readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const migrationsDir = path.join(root, 'prisma/migrations');
const filters = { externalTables: [], externalEnums: [] }; // prisma.config.ts declares none

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { check: { type: 'boolean' }, schema: { type: 'string' } },
});
const check = opts.check ?? false;
// Slugged like the CLI does (`addNote` / `add note` -> add_note), max 200 characters.
const name = positionals[0]?.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
  .replace(/([a-z\d])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z\d]+)/g, '$1_$2')
  .toLowerCase().replace(/[^a-z\d]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 200);
const schemaPath = path.resolve(opts.schema ?? path.join(root, 'prisma/schema.prisma'));
if (!check && !name) {
  console.error('usage: npm run db:migrate:create -- <name> | --check   [--schema <file>]');
  process.exit(2);
}

// --- Databases --------------------------------------------------------------------------------
// Every PGlite gets the extensions migrations may CREATE (PGlite cannot load them later).
const opened = [];
async function newPGlite() {
  const db = await PGlite.create('memory://', { extensions: { pg_trgm } });
  opened.push(db);
  return db;
}

// pglite-prisma-adapter 0.7.2 workarounds: its executeScript calls exec() without awaiting it
// (a failing migration would be recorded as applied), and its connectToShadowDb opens a PGlite
// without extensions. So we build the factory ourselves around its adapter.
async function connect(db) {
  const adapter = await new PrismaPGlite(db).connect();
  adapter.executeScript = async (script) => {
    try {
      await db.exec(script);
    } catch (e) {
      adapter.onError(e); // rethrows as DriverAdapterError, which the engine understands
    }
  };
  adapter.dispose = async () => {
    if (db !== mainDb && !db.closed) await db.close();
  };
  return adapter;
}
const mainDb = await newPGlite();
const base = new PrismaPGlite(mainDb);
const adapterFactory = bindMigrationAwareSqlAdapterFactory({
  provider: base.provider,
  adapterName: base.adapterName,
  connect: () => connect(mainDb),
  connectToShadowDb: async () => connect(await newPGlite()),
});

// --- Engine -----------------------------------------------------------------------------------
// The package's entry does `import * as wasm from './schema_engine_bg.wasm'`, which Node cannot
// import; instantiate it by hand the way Prisma's wasmSchemaEngineLoader does.
async function loadSchemaEngine() {
  const require = createRequire(import.meta.url);
  const wasmFile = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm');
  const runtime = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const module = new WebAssembly.Module(await readFile(wasmFile));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': runtime });
  runtime.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return runtime.SchemaEngine;
}

// Same shape as the CLI's migrations-directory reader: every subdirectory's migration.sql,
// sorted by name, plus migration_lock.toml.
async function loadMigrations() {
  const lockfile = { path: 'migration_lock.toml', content: await readFile(path.join(migrationsDir, 'migration_lock.toml'), 'utf8').catch(() => null) };
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const migrationDirectories = [];
  for (const dir of entries.filter((e) => e.isDirectory())) {
    const content = await readFile(path.join(migrationsDir, dir.name, 'migration.sql'), 'utf8')
      .then((value) => ({ tag: 'ok', value }), (e) => ({ tag: 'error', value: e.message }));
    migrationDirectories.push({ path: dir.name, migrationFile: { path: 'migration.sql', content } });
  }
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path));
  return { baseDir: migrationsDir, lockfile, migrationDirectories, shadowDbInitScript: '' };
}

// JS errors thrown inside the adapter reach the engine only as "External error id#N", an index
// into the adapter's error registry; put the original message back.
function explain(error) {
  const message = String(error?.message ?? error);
  const id = /External error id#(\d+)/.exec(message)?.[1];
  const original = id !== undefined && adapterFactory.errorRegistry.consumeError(Number(id))?.error;
  return original ? `${message}\ncaused by: ${original.stack ?? original}` : message;
}

async function main() {
  const schemaFile = { path: schemaPath, content: await readFile(schemaPath, 'utf8') };
  const schema = { files: [schemaFile] };
  const debug = (msg) => process.env.DEBUG && console.error(msg);
  const SchemaEngine = await loadSchemaEngine();
  const engine = await SchemaEngine.new({ datamodels: [[schemaFile.path, schemaFile.content]] }, debug, adapterFactory);
  try {
    const migrationsList = await loadMigrations();

    // Unlike the CLI, apply first, then diagnose: the WASM engine only hands the shadow-database
    // factory to devDiagnostic, which replays the *applied* migrations on a shadow database and
    // caches the result; evaluateDataLoss and createMigration reuse that cache and otherwise fail
    // with "PostgreSQL shadow DB must be provided through an external factory".
    await engine.applyMigrations({ migrationsList, filters });
    const { action } = await engine.devDiagnostic({ migrationsList, filters });
    if (action.tag === 'reset') throw new Error(`Migration history is inconsistent: ${action.reason}`);

    const loss = await engine.evaluateDataLoss({ migrationsList, schema, filters });
    for (const w of [...loss.warnings, ...loss.unexecutableSteps]) console.warn(`warning: ${w.message}`);

    // draft: false -> migrationScript is null when the schema matches the migrations.
    const created = await engine.createMigration({ draft: false, migrationName: name ?? 'check', migrationsList, schema, filters });
    if (created.migrationScript === null) {
      console.log(`No schema changes: prisma/migrations matches ${path.relative(process.cwd(), schemaPath)}.`);
      return 0;
    }
    if (check) {
      console.error(`Schema drift: ${path.relative(process.cwd(), schemaPath)} has changes not captured by prisma/migrations.\n`
        + 'Run `npm run db:migrate:create -- <name>`. Missing SQL:\n\n' + created.migrationScript);
      return 1;
    }

    // Written exactly as the CLI does: <dir>/migration.<ext>, then migration_lock.toml.
    const dir = path.join(migrationsDir, created.generatedMigrationName);
    if (existsSync(dir)) throw new Error(`The migration directory already exists at ${dir}`);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `migration.${created.extension}`);
    await writeFile(file, created.migrationScript, 'utf8');
    await writeFile(path.join(migrationsDir, migrationsList.lockfile.path),
      `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${created.connectorType}"\n`, 'utf8');
    console.log(`Created ${path.relative(process.cwd(), file)}`);
    return 0;
  } finally {
    engine.free();
  }
}

let code;
try {
  code = await main();
} catch (error) {
  console.error(`migrate-create failed: ${explain(error)}`);
  code = 1;
} finally {
  for (const db of opened) if (!db.closed) await db.close();
}
process.exit(code);
