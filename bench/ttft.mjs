#!/usr/bin/env node
// Time to first token that Parley adds over its upstream, for a streamed chat message.
// Starts a minimal OpenAI-compatible SSE server and the built app (dist/main.js) on
// 127.0.0.1, then compares, alternately, the first-token latency of the upstream called
// directly with the first `token` event of POST /api/threads/:t/models/:m/messages
// {stream:true} (bench/lib/measure.mjs; `npm run bench` runs the same comparison).
//   npm run build && node bench/ttft.mjs [iterations=100]
import { chatSender, interleaved, upstreamStreamSender } from './lib/measure.mjs';
import { createThread, fmt, percentile as pct, registerUser, startApp, startUpstream } from './support.mjs';

const ITERATIONS = Number(process.argv[2] ?? 100);
const WARM_UP = 5;

const upstream = await startUpstream();
const app = await startApp(upstream.port, 'messages.send=100000,threads.create=100000');
const cookie = await registerUser(app.port);
const senders = {
  direct: upstreamStreamSender(upstream.port),
  parley: chatSender({ port: app.port, cookie, thread: await createThread(app.port, cookie) }),
};
let samples;
try {
  samples = await interleaved(senders, { rounds: ITERATIONS, warmUp: WARM_UP, value: (res) => res.firstToken });
} finally {
  app.stop();
  Object.values(senders).forEach((send) => send.close());
  upstream.close();
}

const { direct, parley: viaParley } = samples;
console.log(`${ITERATIONS} streamed messages (after ${WARM_UP} warm-up), first token:`);
console.log(`  upstream directly: median ${fmt(pct(direct, 50))}, p99 ${fmt(pct(direct, 99))}`);
console.log(`  through Parley:    median ${fmt(pct(viaParley, 50))}, p99 ${fmt(pct(viaParley, 99))}`);
console.log(`  added by Parley:   median ${fmt(pct(viaParley, 50) - pct(direct, 50))}`);
