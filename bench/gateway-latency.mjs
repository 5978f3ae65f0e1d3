#!/usr/bin/env node
// Latency that Parley's OpenAI-compatible gateway adds over its upstream, for a
// non-streaming POST /v1/chat/completions. Starts a minimal OpenAI-compatible server and
// the built app (dist/main.js) on 127.0.0.1, then compares full-response latency of the
// upstream called directly with the same request made through Parley with a pk_ token.
//   npm run build && node bench/gateway-latency.mjs [iterations=300]
//   BENCH_DATABASE_URL=postgres://… to run the app on PostgreSQL instead of embedded PGlite
import { Agent } from 'node:http';
import { call, fmt, percentile as pct, registerUser, startApp, startUpstream, TEXT } from './support.mjs';

const ITERATIONS = Number(process.argv[2] ?? 300);
const WARM_UP = 20;

function fail(message) {
  throw new Error(message);
}

const upstream = await startUpstream();
const app = await startApp(upstream.port, 'gateway=1000000,register=1000,profile.tokens=1000');
// One keep-alive socket per side, so connection setup is not part of what is measured.
const directAgent = new Agent({ keepAlive: true, maxSockets: 1 });
const parleyAgent = new Agent({ keepAlive: true, maxSockets: 1 });

const cookie = await registerUser(app.port);
const created = await call(app.port, 'POST', '/api/profile/tokens', { headers: { cookie }, body: { name: 'bench' } });
if (created.status !== 201) fail(`token: ${created.status} ${created.text.slice(0, 200)}`);
const token = JSON.parse(created.text).data.token;
if (!token?.startsWith('pk_')) fail(`token: unexpected answer ${created.text.slice(0, 200)}`);

const messages = [{ role: 'user', content: 'Say hello' }];
const contentOf = (r) => {
  try {
    return JSON.parse(r.text).choices?.[0]?.message?.content;
  } catch {
    return undefined;
  }
};
const direct = async () => {
  const r = await call(upstream.port, 'POST', '/v1/chat/completions', { agent: directAgent, body: { model: 'gpt-5.4-mini', messages, stream: false } });
  if (r.status !== 200 || contentOf(r) !== TEXT) fail(`unexpected answer from upstream: ${r.status}`);
  return r;
};
const viaParley = async () => {
  const r = await call(app.port, 'POST', '/v1/chat/completions', {
    agent: parleyAgent,
    headers: { authorization: `Bearer ${token}` },
    body: { model: 'gpt-5.4-mini', messages },
  });
  if (r.status !== 200 || contentOf(r) !== TEXT) fail(`unexpected answer from Parley: ${r.status} ${r.text.slice(0, 200)}`);
  return r;
};

// Each side measured in its own run, after its own warm-up (JIT, pools, caches).
async function measure(send) {
  for (let i = 0; i < WARM_UP; i++) await send();
  const times = [];
  for (let i = 0; i < ITERATIONS; i++) times.push((await send()).ms);
  return times;
}

let directMs, parleyMs, cacheLookups;
try {
  directMs = await measure(direct);
  parleyMs = await measure(viaParley);
  // The credential cache's hit rate over the run (personal token and provider-key lookups).
  const metrics = (await call(app.port, 'GET', '/metrics')).text;
  cacheLookups = Object.fromEntries(
    [...metrics.matchAll(/^parley_credential_cache_lookups_total\{kind="(\w+)",result="(\w+)"\} (\d+)/gm)].map(([, kind, outcome, n]) => [`${kind} ${outcome}`, Number(n)]),
  );
} finally {
  app.stop();
  directAgent.destroy();
  parleyAgent.destroy();
  upstream.close();
}

const round = (ms) => Math.round(ms * 100) / 100;
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
const hits = Object.entries(cacheLookups).filter(([k]) => k.endsWith('hit')).reduce((n, [, v]) => n + v, 0);
const lookups = Object.values(cacheLookups).reduce((n, v) => n + v, 0);
if (lookups) console.log(`  credential cache: ${hits}/${lookups} lookups were hits (${((100 * hits) / lookups).toFixed(1)}%) ${JSON.stringify(cacheLookups)}`);
console.log(JSON.stringify(result));
