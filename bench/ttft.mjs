#!/usr/bin/env node
// Time to first token that Parley adds over its upstream, for a streamed chat message.
// Starts a minimal OpenAI-compatible SSE server and the built app (dist/main.js) on
// 127.0.0.1, then compares the first-token latency of the upstream called directly with
// the first `token` event of POST /api/threads/:t/models/:m/messages {stream:true}.
//   npm run build && node bench/ttft.mjs [iterations=100]
import { call, fmt, percentile as pct, registerUser, startApp, startUpstream } from './support.mjs';

const ITERATIONS = Number(process.argv[2] ?? 100);

const upstream = await startUpstream();
const app = await startApp(upstream.port, 'messages.send=100000,threads.create=100000');
const cookie = await registerUser(app.port);
const thread = JSON.parse((await call(app.port, 'POST', '/api/threads', { headers: { cookie }, body: { title: 'bench' } })).text).data.thread.id;

const direct = [];
const viaParley = [];
for (let i = 0; i < ITERATIONS + 5; i++) {
  const d = await call(upstream.port, 'POST', '/v1/chat/completions', { body: { model: 'm', messages: [], stream: true } });
  const p = await call(app.port, 'POST', `/api/threads/${thread}/models/gpt-5.5/messages`, { headers: { cookie }, body: { content: `question ${i}`, stream: true } });
  if (p.status !== 200 || !p.text.includes('event: message_complete')) throw new Error(`unexpected answer: ${p.status} ${p.text.slice(0, 200)}`);
  if (i >= 5) {
    direct.push(d.firstToken);
    viaParley.push(p.firstToken);
  }
}
app.stop();
upstream.close();

console.log(`${ITERATIONS} streamed messages (after 5 warm-up), first token:`);
console.log(`  upstream directly: median ${fmt(pct(direct, 50))}, p99 ${fmt(pct(direct, 99))}`);
console.log(`  through Parley:    median ${fmt(pct(viaParley, 50))}, p99 ${fmt(pct(viaParley, 99))}`);
console.log(`  added by Parley:   median ${fmt(pct(viaParley, 50) - pct(direct, 50))}`);
