#!/usr/bin/env node
// Liveness while a hostile message is sent: /api/health/live is probed back to back, idle
// and then while a 100,000-character message without a space is sent (streamed) to a chat
// model, and the probe latencies are compared. Before linear token counting the probe
// did not answer for the whole count (13 s at 8,000 characters).
//   npm run build && node bench/liveness.mjs [characters=100000]
import { call, fmt, percentile as pct, registerUser, startApp, startUpstream } from './support.mjs';

const CHARS = Number(process.argv[2] ?? 100_000);
const upstream = await startUpstream();
const app = await startApp(upstream.port, 'messages.send=100000,threads.create=100000');
const cookie = await registerUser(app.port);
const thread = JSON.parse((await call(app.port, 'POST', '/api/threads', { headers: { cookie }, body: { title: 'bench' } })).text).data.thread.id;

async function probeWhile(pending) {
  const latencies = [];
  let done = false;
  pending.then(() => (done = true));
  while (!done || latencies.length < 3) latencies.push((await call(app.port, 'GET', '/api/health/live')).ms);
  return latencies;
}

const idle = [];
for (let i = 0; i < 200; i++) idle.push((await call(app.port, 'GET', '/api/health/live')).ms);
const results = [];
for (let round = 0; round < 6; round++) {
  const started = performance.now();
  const send = call(app.port, 'POST', `/api/threads/${thread}/models/gpt-5.5/messages`, { headers: { cookie }, body: { content: 'x'.repeat(CHARS), stream: true } });
  const during = await probeWhile(send);
  const answer = await send;
  if (answer.status !== 200 || !answer.text.includes('message_complete')) throw new Error(`unexpected answer: ${answer.status} ${answer.text.slice(0, 200)}`);
  results.push({ sendMs: performance.now() - started, during });
}
app.stop();
upstream.close();

// The first send also loads code paths for the first time (SDK, queries): reported apart.
const [first, ...rest] = results;
const during = rest.flatMap((r) => r.during);
console.log(`first send (cold code paths): liveness max ${fmt(Math.max(...first.during))}, send ${fmt(first.sendMs)}`);
console.log(`liveness probes, idle:                      p50 ${fmt(pct(idle, 50))}, max ${fmt(Math.max(...idle))} (${idle.length} probes)`);
console.log(`liveness probes, while ${CHARS.toLocaleString()} × "x" is sent: p50 ${fmt(pct(during, 50))}, max ${fmt(Math.max(...during))} (${during.length} probes over ${rest.length} warm sends)`);
console.log(`the send itself (request to message_complete): median ${fmt(pct(rest.map((r) => r.sendMs), 50))}`);
