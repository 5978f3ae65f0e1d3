// What the benchmarks share: a minimal OpenAI-compatible upstream, the built app started
// against it, an HTTP call that times the whole response and its first token, percentiles.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TOKENS = ['Hello', ',', ' world', '!'];
export const TEXT = TOKENS.join('');

/**
 * The upstream: SSE chunks (content, finish, usage, [DONE]) for a streaming chat completion,
 * a plain `chat.completion` otherwise. Parley's OpenAI provider always streams to it from
 * the chat path; its /v1 gateway forwards non-streaming requests as non-streaming.
 * By default a stream is written at once; `setStreaming({ tokens, intervalMs })` paces the
 * streams that follow instead (first token at once, then one every intervalMs), so that many
 * stay open at the same time. `inFlight()` counts requests not yet answered in full.
 */
export async function startUpstream({ keepAliveTimeout } = {}) {
  let streaming = { tokens: TOKENS, intervalMs: 0 };
  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    res.on('close', () => inFlight--);
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: 'not found' } }));
      }
      const stream = JSON.parse(raw || '{}').stream;
      const { tokens, intervalMs } = stream ? streaming : { tokens: TOKENS };
      const usage = { prompt_tokens: 5, completion_tokens: tokens.length, total_tokens: 5 + tokens.length };
      const head = { id: 'c', created: 0, model: 'm' };
      if (!stream) {
        const body = JSON.stringify({ ...head, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }], usage });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        return res.end(body);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
      const frames = tokens.map((t) => chunk([{ index: 0, delta: { content: t }, finish_reason: null }]));
      const end = () => res.end(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]) + chunk([], { usage }) + 'data: [DONE]\n\n');
      if (!intervalMs) {
        for (const f of frames) res.write(f);
        return end();
      }
      let next = 0;
      res.write(frames[next++]);
      const timer = setInterval(() => {
        if (next < frames.length) return void res.write(frames[next++]);
        clearInterval(timer);
        end();
      }, intervalMs);
      res.on('close', () => clearInterval(timer));
    });
  });
  // Longer than any client's idle keep-alive, so a reused socket is never closed under a request.
  if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    close: () => server.close(),
    /** `{ tokens: string[], intervalMs }` for the streams that follow. */
    setStreaming: (profile) => (streaming = { ...streaming, ...profile }),
    inFlight: () => inFlight,
  };
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort() {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The built app (dist/main.js) in production mode on an embedded database in a temp dir,
 * or on PostgreSQL with BENCH_DATABASE_URL; BENCH_NODE_ARGS (e.g. --cpu-prof) go to node.
 * Resolves once /healthz answers; the app is stopped whatever way this process ends.
 * Options: `databaseUrl` (null: embedded, whatever BENCH_DATABASE_URL says), `logLevel`
 * (null: the app's default), extra `env`, `command` put before node (e.g. taskset -c 0),
 * `stdout`/`stderr` (stdio entries, e.g. a log file's descriptor), and `label` and `log`
 * (the file they write to) to name the app when it fails, and `appDir` (another built
 * checkout, e.g. a baseline commit; default: this one).
 */
export async function startApp(upstreamPort, rateLimits, options = {}) {
  const { databaseUrl = process.env.BENCH_DATABASE_URL, logLevel = 'warn', env = {}, command = [], stdout = 'ignore', stderr = 'inherit', label = 'app', log, appDir = '.' } = options;
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const nodeArgs = [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), join(appDir, 'dist/main.js')];
  const [file, ...args] = [...command, process.execPath, ...nodeArgs];
  const app = spawn(file, args, {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, MIGRATE_ON_START: 'true' } : { DATABASE_URL: '' }),
      JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
      ENCRYPTION_KEY: 'e'.repeat(64),
      ALLOW_REGISTRATION: 'true',
      OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
      OPENAI_API_KEY: 'sk-bench',
      OLLAMA_ENABLED: 'false',
      ...(logLevel ? { LOG_LEVEL: logLevel } : { LOG_LEVEL: '' }),
      RATE_LIMITS: rateLimits,
      ...env,
    },
    stdio: ['ignore', stdout, stderr],
    cwd: appDir,
  });
  let stopping = false;
  // The embedded database (tens of MB) goes once the app has exited.
  const exited = once(app, 'exit').then(() => rmSync(dataDir, { recursive: true, force: true }));
  process.on('exit', () => app.kill('SIGTERM'));
  app.on('exit', (code, signal) => {
    if (!stopping) {
      const tail = log ? `; the end of its output (${log}):\n${readFileSync(log, 'utf8').slice(-1500)}` : '';
      console.error(`${label} exited early (code ${code}, signal ${signal})${tail}`);
      process.exit(1);
    }
  });
  // A fresh embedded database takes a while (over 20 s on one CPU).
  for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    try {
      if ((await call(port, 'GET', '/healthz')).status === 200) break;
    } catch {
      if (Date.now() - started > 120_000) {
        stopping = true;
        app.kill('SIGKILL');
        throw new Error('app did not answer /healthz within 120 s');
      }
    }
  }
  return {
    port,
    /** The app's process (its `exit` event, its signals). */
    child: app,
    /** Sends the signal; resolves once the process has exited (and its data directory is gone). */
    stop: (signal = 'SIGTERM') => {
      stopping = true;
      if (app.exitCode === null && app.signalCode === null) app.kill(signal);
      return exited;
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

let users = 0;
/** Registers a fresh user; returns its session cookie header. */
export async function registerUser(port) {
  const username = `bench${Date.now()}-${process.pid}-${users++}@example.com`;
  const res = await call(port, 'POST', '/api/register', { body: { username, password: 'bench-password-123' } });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text.slice(0, 200)}`);
  return (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
}

/** A personal API token (pk_…) of the signed-in user, for /v1. */
export async function createToken(port, cookie) {
  const res = await call(port, 'POST', '/api/profile/tokens', { headers: { cookie }, body: { name: 'bench' } });
  const token = res.status === 201 ? JSON.parse(res.text).data?.token : undefined;
  if (!token?.startsWith('pk_')) throw new Error(`token: ${res.status} ${res.text.slice(0, 200)}`);
  return token;
}

/** A new chat thread of the signed-in user; returns its id. */
export async function createThread(port, cookie, title = 'bench') {
  const res = await call(port, 'POST', '/api/threads', { headers: { cookie }, body: { title } });
  if (res.status !== 201) throw new Error(`thread: ${res.status} ${res.text.slice(0, 200)}`);
  return JSON.parse(res.text).data.thread.id;
}

export const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
export const fmt = (ms) => `${ms.toFixed(2)} ms`;
