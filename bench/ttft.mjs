#!/usr/bin/env node
// Time to first token that Parley adds over its upstream, for a streamed chat message.
// Starts a minimal OpenAI-compatible SSE server and the built app (dist/main.js) on
// 127.0.0.1, then compares the first-token latency of the upstream called directly with
// the first `token` event of POST /api/threads/:t/models/:m/messages {stream:true}.
//   npm run build && node bench/ttft.mjs [iterations=100]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ITERATIONS = Number(process.argv[2] ?? 100);
const TOKENS = ['Hello', ',', ' world', '!'];

// The upstream: answers every chat completion with four SSE chunks, no artificial delay.
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta, extra = {}) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
    for (const t of TOKENS) res.write(chunk({ content: t }));
    res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } })}\n\n`);
    res.end('data: [DONE]\n\n');
  });
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const upstreamPort = upstream.address().port;

const appPort = 3900 + Math.floor(Math.random() * 90);
const app = spawn(process.execPath, ['dist/main.js'], {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(appPort),
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-bench-')),
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    ENCRYPTION_KEY: 'e'.repeat(64),
    ALLOW_REGISTRATION: 'true',
    OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
    OPENAI_API_KEY: 'sk-bench',
    OLLAMA_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMITS: 'messages.send=100000,threads.create=100000',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});

function call(port, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let firstToken;
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
        if (firstToken === undefined && /event: token|"content":"/.test(text)) firstToken = Number(process.hrtime.bigint() - started) / 1e6;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, firstToken }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

for (let i = 0; ; i++) {
  try {
    if ((await call(appPort, 'GET', '/healthz')).status === 200) break;
  } catch {
    if (i > 300) throw new Error('app did not start');
  }
  await new Promise((r) => setTimeout(r, 100));
}

const reg = await call(appPort, 'POST', '/api/register', {}, { username: `bench${Date.now()}@example.com`, password: 'bench-password-123' });
const cookie = reg.headers['set-cookie'].map((c) => c.split(';')[0]).join('; ');
const thread = JSON.parse((await call(appPort, 'POST', '/api/threads', { cookie }, { title: 'bench' })).text).data.thread.id;

const direct = [];
const viaParley = [];
for (let i = 0; i < ITERATIONS + 5; i++) {
  const d = await call(upstreamPort, 'POST', '/v1/chat/completions', {}, { model: 'm', messages: [], stream: true });
  const p = await call(appPort, 'POST', `/api/threads/${thread}/models/gpt-5.5/messages`, { cookie }, { content: `question ${i}`, stream: true });
  if (p.status !== 200 || !p.text.includes('event: message_complete')) throw new Error(`unexpected answer: ${p.status} ${p.text.slice(0, 200)}`);
  if (i >= 5) {
    direct.push(d.firstToken);
    viaParley.push(p.firstToken);
  }
}
app.kill('SIGTERM');
upstream.close();

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (ms) => `${ms.toFixed(2)} ms`;
console.log(`${ITERATIONS} streamed messages (after 5 warm-up), first token:`);
console.log(`  upstream directly: median ${fmt(pct(direct, 50))}, p99 ${fmt(pct(direct, 99))}`);
console.log(`  through Parley:    median ${fmt(pct(viaParley, 50))}, p99 ${fmt(pct(viaParley, 99))}`);
console.log(`  added by Parley:   median ${fmt(pct(viaParley, 50) - pct(direct, 50))}`);
