#!/usr/bin/env node
// Latency that Parley's OpenAI-compatible gateway adds over its upstream, for a
// non-streaming POST /v1/chat/completions. Starts a minimal OpenAI-compatible server and
// the built app (dist/main.js) on 127.0.0.1, then compares full-response latency of the
// upstream called directly with the same request made through Parley with a pk_ token,
// in interleaved rounds (bench/lib/measure.mjs). `npm run bench` compares more systems.
//   npm run build && node bench/gateway-latency.mjs [iterations=300]
//   BENCH_DATABASE_URL=postgres://… to run the app on PostgreSQL instead of embedded PGlite
import { interleaved, v1Sender } from './lib/measure.mjs';
import { call, createToken, fmt, percentile as pct, registerUser, startApp, startUpstream, TEXT } from './support.mjs';

const ITERATIONS = Number(process.argv[2] ?? 300);
const WARM_UP = 20;
const ROUNDS = 10;

const upstream = await startUpstream();
const app = await startApp(upstream.port, 'gateway=1000000,register=1000,profile.tokens=1000');
const token = await createToken(app.port, await registerUser(app.port));
// One keep-alive socket per side, so connection setup is not part of what is measured.
const senders = {
  direct: v1Sender({ port: upstream.port, text: TEXT, who: 'upstream' }),
  parley: v1Sender({ port: app.port, headers: { authorization: `Bearer ${token}` }, text: TEXT, who: 'Parley' }),
};

let samples, cacheLookups;
try {
  samples = await interleaved(senders, { rounds: ROUNDS, perRound: Math.ceil(ITERATIONS / ROUNDS), warmUp: WARM_UP });
  // The credential cache's hit rate over the run (personal token and provider-key lookups).
  const metrics = (await call(app.port, 'GET', '/metrics')).text;
  cacheLookups = Object.fromEntries(
    [...metrics.matchAll(/^parley_credential_cache_lookups_total\{kind="(\w+)",result="(\w+)"\} (\d+)/gm)].map(([, kind, outcome, n]) => [`${kind} ${outcome}`, Number(n)]),
  );
} finally {
  app.stop();
  Object.values(senders).forEach((send) => send.close());
  upstream.close();
}

const { direct: directMs, parley: parleyMs } = samples;
const round = (ms) => Math.round(ms * 100) / 100;
const result = {
  iterations: parleyMs.length,
  directMedianMs: round(pct(directMs, 50)),
  directP99Ms: round(pct(directMs, 99)),
  parleyMedianMs: round(pct(parleyMs, 50)),
  parleyP99Ms: round(pct(parleyMs, 99)),
  addedMedianMs: round(pct(parleyMs, 50) - pct(directMs, 50)),
  addedP99Ms: round(pct(parleyMs, 99) - pct(directMs, 99)),
};
console.log(`${parleyMs.length} non-streaming chat completions each (after ${WARM_UP} warm-up each, ${ROUNDS} interleaved rounds), full response:`);
console.log(`  upstream directly: median ${fmt(pct(directMs, 50))}, p99 ${fmt(pct(directMs, 99))}`);
console.log(`  through Parley:    median ${fmt(pct(parleyMs, 50))}, p99 ${fmt(pct(parleyMs, 99))}`);
console.log(`  added by Parley:   median ${fmt(pct(parleyMs, 50) - pct(directMs, 50))}, p99 ${fmt(pct(parleyMs, 99) - pct(directMs, 99))}`);
const hits = Object.entries(cacheLookups).filter(([k]) => k.endsWith('hit')).reduce((n, [, v]) => n + v, 0);
const lookups = Object.values(cacheLookups).reduce((n, v) => n + v, 0);
if (lookups) console.log(`  credential cache: ${hits}/${lookups} lookups were hits (${((100 * hits) / lookups).toFixed(1)}%) ${JSON.stringify(cacheLookups)}`);
console.log(JSON.stringify(result));
