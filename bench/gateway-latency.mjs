#!/usr/bin/env node
// Latency that Parley's OpenAI-compatible gateway adds over its upstream, for a
// non-streaming POST /v1/chat/completions. Starts a minimal OpenAI-compatible server and
// the built app (dist/main.js) on 127.0.0.1, then compares full-response latency of the
// upstream called directly with the same request made through Parley with a pk_ token.
//   npm run build && node bench/gateway-latency.mjs [iterations=300]
//   BENCH_DATABASE_URL=postgres://… to run the app on PostgreSQL instead of embedded PGlite
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ITERATIONS = Number(process.argv[2] ?? 300);
const WARM_UP = 20;
const TOKENS = ['Hello', ',', ' world', '!'];
const TEXT = TOKENS.join('');

// The upstream, no artificial delay. Parley's OpenAI provider always streams (even for a
// non-streaming gateway request), so it gets SSE; the direct baseline gets plain JSON.
const upstream = createServer((req, res) => {
  let raw = '';
  req.on('data', (c) => (raw += c));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { message: 'not found' } }));
    }
    const usage = { prompt_tokens: 5, completion_tokens: TOKENS.length, total_tokens: 5 + TOKENS.length };
    if (!JSON.parse(raw || '{}').stream) {
      const body = JSON.stringify({
        id: 'c',
        object: 'chat.completion',
        created: 0,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }],
        usage,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      return res.end(body);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices, ...extra })}\n\n`;
    for (const t of TOKENS) res.write(chunk([{ index: 0, delta: { content: t }, finish_reason: null }]));
    res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    res.write(chunk([], { usage }));
    res.end('data: [DONE]\n\n');
  });
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const upstreamPort = upstream.address().port;

const appPort = 3900 + Math.floor(Math.random() * 90);
const app = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'dist/main.js'], {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(appPort),
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-bench-')),
    // BENCH_DATABASE_URL=postgres://… measures on PostgreSQL instead of the embedded database.
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL, MIGRATE_ON_START: 'true' } : {}),
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    ENCRYPTION_KEY: 'e'.repeat(64),
    ALLOW_REGISTRATION: 'true',
    OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
    OPENAI_API_KEY: 'sk-bench',
    OLLAMA_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMITS: 'gateway=1000000,register=1000,profile.tokens=1000',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
// Never leave the app running, whatever way this process ends; fail fast if it dies.
let shuttingDown = false;
process.on('exit', () => app.kill('SIGTERM'));
app.on('exit', (code, signal) => {
  if (!shuttingDown) {
    console.error(`app exited early (code ${code}, signal ${signal})`);
    process.exit(1);
  }
});

// One keep-alive socket per side, so connection setup is not part of what is measured.
const directAgent = new Agent({ keepAlive: true, maxSockets: 1 });
const parleyAgent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(port, method, path, { headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function fail(message) {
  throw new Error(message);
}

for (let i = 0; ; i++) {
  try {
    if ((await call(appPort, 'GET', '/healthz')).status === 200) break;
  } catch {
    if (i > 300) throw new Error('app did not start');
  }
  await new Promise((r) => setTimeout(r, 100));
}

const reg = await call(appPort, 'POST', '/api/register', { body: { username: `bench${Date.now()}@example.com`, password: 'bench-password-123' } });
if (reg.status !== 201) fail(`register: ${reg.status} ${reg.text.slice(0, 200)}`);
const cookie = (reg.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
const created = await call(appPort, 'POST', '/api/profile/tokens', { headers: { cookie }, body: { name: 'bench' } });
if (created.status !== 201) fail(`token: ${created.status} ${created.text.slice(0, 200)}`);
const token = JSON.parse(created.text).data.token;
if (!token?.startsWith('pk_')) fail(`token: unexpected answer ${created.text.slice(0, 200)}`);

const messages = [{ role: 'user', content: 'Say hello' }];
const direct = () => call(upstreamPort, 'POST', '/v1/chat/completions', { agent: directAgent, body: { model: 'gpt-5.4-mini', messages, stream: false } });
const viaParley = async () => {
  const r = await call(appPort, 'POST', '/v1/chat/completions', {
    agent: parleyAgent,
    headers: { authorization: `Bearer ${token}` },
    body: { model: 'gpt-5.4-mini', messages },
  });
  let content;
  try {
    content = JSON.parse(r.text).choices?.[0]?.message?.content;
  } catch {}
  if (r.status !== 200 || content !== TEXT) fail(`unexpected answer from Parley: ${r.status} ${r.text.slice(0, 200)}`);
  return r;
};

// Each side measured in its own run, after its own warm-up (JIT, pools, caches).
async function measure(send) {
  for (let i = 0; i < WARM_UP; i++) await send();
  const times = [];
  for (let i = 0; i < ITERATIONS; i++) times.push((await send()).ms);
  return times;
}

let directMs, parleyMs;
try {
  directMs = await measure(async () => {
    const r = await direct();
    if (r.status !== 200 || JSON.parse(r.text).choices[0].message.content !== TEXT) fail(`unexpected answer from upstream: ${r.status}`);
    return r;
  });
  parleyMs = await measure(viaParley);
} finally {
  shuttingDown = true;
  app.kill('SIGTERM');
  directAgent.destroy();
  parleyAgent.destroy();
  upstream.close();
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const round = (ms) => Math.round(ms * 100) / 100;
const fmt = (ms) => `${ms.toFixed(2)} ms`;
const result = {
  iterations: ITERATIONS,
  directMedianMs: round(pct(directMs, 50)),
  directP99Ms: round(pct(directMs, 99)),
  parleyMedianMs: round(pct(parleyMs, 50)),
  parleyP99Ms: round(pct(parleyMs, 99)),
  addedMedianMs: round(pct(parleyMs, 50) - pct(directMs, 50)),
  addedP99Ms: round(pct(parleyMs, 99) - pct(directMs, 99)),
};
console.log(`${ITERATIONS} non-streaming chat completions (after ${WARM_UP} warm-up each), full response:`);
console.log(`  upstream directly: median ${fmt(pct(directMs, 50))}, p99 ${fmt(pct(directMs, 99))}`);
console.log(`  through Parley:    median ${fmt(pct(parleyMs, 50))}, p99 ${fmt(pct(parleyMs, 99))}`);
console.log(`  added by Parley:   median ${fmt(pct(parleyMs, 50) - pct(directMs, 50))}, p99 ${fmt(pct(parleyMs, 99) - pct(directMs, 99))}`);
console.log(JSON.stringify(result));
