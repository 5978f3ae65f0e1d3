// What the benchmarks share: a minimal OpenAI-compatible upstream, the built app started
// against it, an HTTP call that times the whole response and its first token, percentiles.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TOKENS = ['Hello', ',', ' world', '!'];
export const TEXT = TOKENS.join('');

/**
 * The upstream, no artificial delay: SSE chunks (content, finish, usage, [DONE]) for a
 * streaming chat completion, a plain `chat.completion` otherwise. Parley's OpenAI provider
 * always streams, so through Parley it always gets SSE.
 */
export async function startUpstream() {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'not found' } }));
      }
      const usage = { prompt_tokens: 5, completion_tokens: TOKENS.length, total_tokens: 5 + TOKENS.length };
      const head = { id: 'c', created: 0, model: 'm' };
      if (!JSON.parse(raw || '{}').stream) {
        const body = JSON.stringify({ ...head, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }], usage });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        return res.end(body);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
      for (const t of TOKENS) res.write(chunk([{ index: 0, delta: { content: t }, finish_reason: null }]));
      res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
      res.write(chunk([], { usage }));
      res.end('data: [DONE]\n\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: server.address().port, close: () => server.close() };
}

/**
 * The built app (dist/main.js) in production mode on an embedded database in a temp dir,
 * or on PostgreSQL with BENCH_DATABASE_URL; BENCH_NODE_ARGS (e.g. --cpu-prof) go to node.
 * Resolves once /healthz answers; the app is stopped whatever way this process ends.
 */
export async function startApp(upstreamPort, rateLimits) {
  const port = 3900 + Math.floor(Math.random() * 90);
  const app = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/main.js'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-bench-')),
      ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL, MIGRATE_ON_START: 'true' } : {}),
      JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
      ENCRYPTION_KEY: 'e'.repeat(64),
      ALLOW_REGISTRATION: 'true',
      OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
      OPENAI_API_KEY: 'sk-bench',
      OLLAMA_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      RATE_LIMITS: rateLimits,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let stopping = false;
  process.on('exit', () => app.kill('SIGTERM'));
  app.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`app exited early (code ${code}, signal ${signal})`);
      process.exit(1);
    }
  });
  for (let i = 0; ; i++) {
    try {
      if ((await call(port, 'GET', '/healthz')).status === 200) break;
    } catch {
      if (i > 300) throw new Error('app did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    /** The app's process (its `exit` event, its signals). */
    child: app,
    stop: (signal = 'SIGTERM') => {
      stopping = true;
      app.kill(signal);
    },
  };
}

/** One request: status, headers, text, whole-response `ms`, and `firstToken` ms when the body shows one. */
export function call(port, method, path, { headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    let firstToken;
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
        if (firstToken === undefined && /event: token|"content":"/.test(text)) firstToken = elapsed();
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, ms: elapsed(), firstToken }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Registers a fresh user; returns its session cookie header. */
export async function registerUser(port) {
  const res = await call(port, 'POST', '/api/register', { body: { username: `bench${Date.now()}@example.com`, password: 'bench-password-123' } });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text.slice(0, 200)}`);
  return (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
}

export const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
export const fmt = (ms) => `${ms.toFixed(2)} ms`;
