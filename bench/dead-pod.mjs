// A pod killed with SIGKILL mid-answer, with the default timings (GENERATION_HEARTBEAT_MS
// 5 s, GENERATION_ORPHAN_AFTER_MS 20 s): two built app processes on one PostgreSQL and one
// Redis; the answer streams on A, A is killed, and B is polled until it lists the answer as
// `interrupted`. Prints the time from the kill to that, and the text kept.
// Run: npm run build && BENCH_DATABASE_URL=postgresql://… REDIS_URL=redis://127.0.0.1:6379 node bench/dead-pod.mjs
import { Redis } from 'ioredis';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { call, registerUser, startApp } from './support.mjs';

if (!process.env.BENCH_DATABASE_URL || !process.env.REDIS_URL) {
  console.error('Set BENCH_DATABASE_URL (a throwaway PostgreSQL database) and REDIS_URL');
  process.exit(2);
}
process.env.REDIS_KEY_PREFIX = `parley-bench-${process.pid}:`;

/** An OpenAI-compatible upstream: the first answer streams one token every 100 ms for ever, later ones end after three. */
let requests = 0;
const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const endless = requests++ === 0;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta, finish) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    let i = 0;
    const timer = setInterval(() => {
      res.write(chunk({ content: `w${i++} ` }, null));
      if (!endless && i === 3) {
        clearInterval(timer);
        res.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
      }
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
const upstreamPort = upstream.address().port;

const a = await startApp(upstreamPort, '');
const b = await startApp(upstreamPort, '');
const cookie = await registerUser(a.port);
const thread = JSON.parse((await call(a.port, 'POST', '/api/threads', { headers: { cookie }, body: {} })).text).data.thread.id;
const path = `/api/threads/${thread}/models/gpt-5.5/messages`;

let streamed = '';
let messageId;
const req = request({ host: '127.0.0.1', port: a.port, method: 'POST', path, headers: { cookie, 'content-type': 'application/json' } }, (res) => {
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    for (const frame of chunk.split('\n\n')) {
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null');
      if (event === 'message_start') messageId = data.messageId;
      if (event === 'token') streamed += data.token;
    }
  });
  res.on('error', () => undefined);
});
req.on('error', () => undefined);
req.end(JSON.stringify({ content: 'go on for ever', stream: true }));
await new Promise((r) => setTimeout(r, 3000));

a.stop('SIGKILL');
const killed = performance.now();
let row;
while (!row) {
  await new Promise((r) => setTimeout(r, 250));
  const list = JSON.parse((await call(b.port, 'GET', `${path}?limit=10`, { headers: { cookie } })).text);
  row = list.data.messages.find((m) => m.id === messageId && m.status === 'interrupted');
  if (performance.now() - killed > 60_000) throw new Error('not finalised within 60 s');
}
const seconds = ((performance.now() - killed) / 1000).toFixed(1);
console.log(`Dead pod (SIGKILL) → answer stored as interrupted by the other pod after ${seconds} s (GENERATION_HEARTBEAT_MS=5000, GENERATION_ORPHAN_AFTER_MS=20000)`);
console.log(`  text kept: ${row.content.length} characters; the killed pod's reader had received ${streamed.length} before the kill (tokens sent just before it may not have reached the reader)`);
const next = await call(b.port, 'POST', path, { headers: { cookie }, body: { content: 'still there?' } });
console.log(`  the thread+model answers again on the other pod: HTTP ${next.status}`);
b.stop();
upstream.close();
// This run's keys go with it.
const redis = new Redis(process.env.REDIS_URL);
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${process.env.REDIS_KEY_PREFIX}*`, 'COUNT', 500);
  if (keys.length) await redis.del(...keys);
  cursor = next;
} while (cursor !== '0');
await redis.quit();
process.exit(0);
