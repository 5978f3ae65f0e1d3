// The shutdown timeline of the built app with its default timings (SHUTDOWN_DELAY_MS 5 s,
// SHUTDOWN_GRACE_MS 10 s): SIGTERM while an answer streams slowly, probes polled every
// 50 ms. Prints when readiness turned 503, the last request liveness got served, when
// connections were refused, when the answer's reader got its terminal event (and which),
// and when the process exited. Run: npm run build && node bench/shutdown.mjs
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { call, registerUser, startApp } from './support.mjs';

/** An OpenAI-compatible upstream that streams one token every 200 ms for a minute. */
async function slowUpstream() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: `w${i++} ` }, finish_reason: null }] })}\n\n`);
      }, 200);
      res.on('close', () => clearInterval(timer));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: server.address().port, close: () => server.close() };
}

/** The events of a streamed answer as they arrive, with their arrival times. */
function streamAnswer(port, path, cookie, t0) {
  const events = [];
  const done = new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { cookie, 'content-type': 'application/json' } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event) events.push({ event, data: JSON.parse(data ?? 'null'), at: performance.now() - t0() });
        }
      });
      res.on('end', () => resolve({ endedAt: performance.now() - t0(), cut: false }));
      res.on('error', () => resolve({ endedAt: performance.now() - t0(), cut: true }));
    });
    req.on('error', () => resolve({ endedAt: performance.now() - t0(), cut: true }));
    req.end(JSON.stringify({ content: 'a long answer please', stream: true }));
  });
  return { events, done };
}

const upstream = await slowUpstream();
const app = await startApp(upstream.port, '');
const cookie = await registerUser(app.port);
const thread = JSON.parse((await call(app.port, 'POST', '/api/threads', { headers: { cookie }, body: {} })).text).data.thread.id;

let sigterm = 0;
const t0 = () => sigterm;
const answer = streamAnswer(app.port, `/api/threads/${thread}/models/gpt-5.5/messages`, cookie, t0);
await new Promise((r) => setTimeout(r, 1000));

const timeline = { ready503: undefined, lastLiveServed: undefined, firstRefused: undefined, exit: undefined };
const exited = once(app.child, 'exit').then(() => (timeline.exit = performance.now() - sigterm));
sigterm = performance.now();
app.stop();
let polling = true;
exited.then(() => (polling = false));
while (polling) {
  const at = () => performance.now() - sigterm;
  const [ready, live] = await Promise.all(['/api/health/ready', '/api/health/live'].map((path) => call(app.port, 'GET', path).catch(() => undefined)));
  if (ready?.status === 503 && timeline.ready503 === undefined) timeline.ready503 = at();
  if (live?.status === 200) timeline.lastLiveServed = at();
  if (!live && timeline.firstRefused === undefined) timeline.firstRefused = at();
  await new Promise((r) => setTimeout(r, 50));
}
await exited;
const streamed = await answer.done;
const terminal = answer.events.find((e) => e.event === 'message_complete' || e.event === 'error');
const ms = (v) => (v === undefined ? 'never' : `${(v / 1000).toFixed(2)} s`);
console.log('Shutdown timeline after SIGTERM (SHUTDOWN_DELAY_MS=5000, SHUTDOWN_GRACE_MS=10000, one answer streaming):');
console.log(`  readiness 503            ${ms(timeline.ready503)}`);
console.log(`  last request served      ${ms(timeline.lastLiveServed)}`);
console.log(`  connections refused      ${ms(timeline.firstRefused)}`);
console.log(`  answer's terminal event  ${ms(terminal && terminal.at)} (${terminal ? `${terminal.event} ${terminal.data?.code ?? ''}` : 'none'}), stream ${streamed.cut ? 'cut' : 'ended'} at ${ms(streamed.endedAt)}`);
console.log(`  process exited           ${ms(timeline.exit)} (code ${app.child.exitCode})`);
upstream.close();
