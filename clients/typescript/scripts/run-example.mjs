// CI test of the client: compiles examples/demo.ts, starts the built app (../../dist/main.js:
// run `npm run build` at the repository root first) on a throwaway embedded database,
// runs the demo against it, and exits non-zero when anything fails.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, '../../dist/main.js');
if (!existsSync(main)) {
  console.error(`${main} is missing: run \`npm run build\` at the repository root first`);
  process.exit(1);
}

// Inside the package, so the compiled demo resolves this package's node_modules and "type": "module".
const outDir = mkdtempSync(join(root, '.build-'));
const dataDir = mkdtempSync(join(tmpdir(), 'parley-client-example-'));
let app;
let code = 1;
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit', 'false', '--outDir', outDir], { stdio: 'inherit' });

  const port = await freePort();
  const offline = 'http://127.0.0.1:9';
  const env = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'MODELS_FILE']) delete env[name];
  Object.assign(env, {
    NODE_ENV: 'test', // not production: demo account, open registration, the offline demo model
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    JWT_SECRET: 'client-example-secret-that-is-long-enough-0123456789',
    ENCRYPTION_KEY: 'c'.repeat(64),
    DEMO_TOKEN_DELAY_MS: '0',
    OPENAI_BASE_URL: `${offline}/v1`,
    ANTHROPIC_BASE_URL: offline,
    GOOGLE_BASE_URL: offline,
    OLLAMA_BASE_URL: offline,
    OLLAMA_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
  });
  // cwd is the data directory so that a developer's .env at the repository root is not read.
  app = spawn(process.execPath, [main], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  app.stdout.on('data', (c) => (log += c));
  app.stderr.on('data', (c) => (log += c));
  const exited = once(app, 'exit');

  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (app.exitCode !== null) throw new Error(`the app exited (code ${app.exitCode}):\n${log}`);
    if (await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 900) throw new Error(`the app did not answer /healthz within 90 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const demo = spawn(process.execPath, [join(outDir, 'examples/demo.js')], { env: { ...process.env, PARLEY_URL: baseUrl }, stdio: 'inherit' });
  const timer = setTimeout(() => demo.kill('SIGKILL'), 60_000);
  const [demoCode, signal] = await once(demo, 'exit');
  clearTimeout(timer);
  code = demoCode ?? 1;
  if (code !== 0) console.error(`example failed (${signal ?? `exit ${demoCode}`}); app log:\n${log}`);

  app.kill('SIGTERM');
  await exited;
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
} finally {
  if (app && app.exitCode === null) app.kill('SIGKILL');
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(code === 0 ? 'example: ok' : 'example: FAILED');
process.exit(code);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
