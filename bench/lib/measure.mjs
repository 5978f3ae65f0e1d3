// How the benchmarks measure: interleaved sequential requests (latency, time to first
// token), a fixed number of connections for a fixed time (throughput), and a burst of
// concurrent streams (time to first token, completeness, stalls, memory held per stream).
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';
import { call } from '../support.mjs';
import { busyShare, cpuTimes, rssOf } from './processes.mjs';

export const CHAT_COMPLETIONS = '/v1/chat/completions';
/** A /v1 stream chunk carrying text, and the end of a /v1 stream. */
export const V1_TOKEN = /"content":"[^"]/;
export const V1_DONE = 'data: [DONE]';
/** A chat answer's token event, and its successful end. */
export const CHAT_TOKEN = /event: token/;
export const CHAT_DONE = 'event: message_complete';

/** The request every gateway gets: the same body, non-streaming or streamed. */
export const v1Body = (stream) => ({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'Say hello' }], stream });

export const completionText = (res) => {
  try {
    return JSON.parse(res.text).choices?.[0]?.message?.content;
  } catch {
    return undefined;
  }
};

/** `value`, or `value(i)` when it is a function: a request's part that differs per request. */
const nth = (value, i) => (typeof value === 'function' ? value(i) : value);

/**
 * A sequential sender of one request over its own keep-alive socket (so connection setup
 * is not measured). `check(res)` throws on a wrong answer. `send.close()` frees the socket.
 */
export function sender({ port, path = CHAT_COMPLETIONS, headers = {}, body, check }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = async (i) => {
    const res = await call(port, 'POST', path, { agent, headers, body: nth(body, i) });
    check?.(res);
    return res;
  };
  send.close = () => agent.destroy();
  return send;
}

/** A sender of non-streaming /v1 chat completions that expects `text` as the answer. */
export const v1Sender = ({ port, headers, text, who }) =>
  sender({
    port,
    headers,
    body: v1Body(false),
    check: (res) => {
      if (res.status !== 200 || completionText(res) !== text) throw new Error(`unexpected answer from ${who}: ${res.status} ${res.text.slice(0, 200)}`);
    },
  });

/** A sender of streamed completions straight to the upstream: the first token as the upstream gives it. */
export const upstreamStreamSender = (port) => sender({ port, body: v1Body(true) });

/** A sender of streamed chat messages to one thread of Parley (one message at a time per thread and model). */
export function chatSender({ port, cookie, thread, model = 'gpt-5.5' }) {
  return sender({
    port,
    path: `/api/threads/${thread}/models/${model}/messages`,
    headers: { cookie },
    body: (i) => ({ content: `question ${i}`, stream: true }),
    check: (res) => {
      if (res.status !== 200 || !res.text.includes(CHAT_DONE)) throw new Error(`unexpected chat answer: ${res.status} ${res.text.slice(0, 200)}`);
    },
  });
}

/**
 * Calls every sender in turn, `perRound` times each, for `rounds` rounds, after `warmUp`
 * calls of each; so that drift (CPU frequency, other load) touches every system alike.
 * Returns `value(res)` of every measured call, per sender name.
 */
export async function interleaved(senders, { rounds, perRound = 1, warmUp = 0, value = (res) => res.ms }) {
  const samples = Object.fromEntries(Object.keys(senders).map((name) => [name, []]));
  let i = 0;
  for (const send of Object.values(senders)) for (let w = 0; w < warmUp; w++) await send(i++);
  for (let r = 0; r < rounds; r++) {
    for (const [name, send] of Object.entries(senders)) {
      for (let k = 0; k < perRound; k++) samples[name].push(value(await send(i++)));
    }
  }
  return samples;
}

/**
 * Non-streaming requests over `connections` keep-alive connections for `seconds` (autocannon,
 * in this process). Answers per second counts 2xx only; `busy` is each CPU's busy share
 * meanwhile, to show which side was the bottleneck.
 */
export async function throughput({ port, path = CHAT_COMPLETIONS, headers = {}, body, connections = 50, seconds }) {
  const before = cpuTimes();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    connections,
    duration: seconds,
  });
  return { rps: result['2xx'] / result.duration, ok: result['2xx'], seconds: result.duration, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, busy: busyShare(before, cpuTimes()) };
}

/**
 * `count` streamed requests, each on its own connection, opened evenly within `withinMs`;
 * `path`, `headers` and `body` may be functions of the request's index.
 * Per stream: time to the first chunk matching `token`, whether `done` arrived, and the
 * longest silence between two chunks with `data:` lines (a stall; the wait for the first
 * one is counted apart, as a slow start). While they run, the RSS of process `pid` is
 * sampled every 25 ms; the highest reading while most streams were open is kept.
 */
export async function streamBurst({ port, path = CHAT_COMPLETIONS, headers = {}, body, count, withinMs = 1000, token, done, pid, deadlineMs = 60_000 }) {
  const streams = [];
  let open = 0;
  let peak = { open: 0, rss: NaN };
  const sampler = setInterval(() => {
    if (!pid || open < peak.open) return;
    const rss = rssOf(pid);
    peak = open > peak.open ? { open, rss } : { open, rss: Math.max(rss, peak.rss) };
  }, 25);
  await new Promise((allEnded) => {
    let ended = 0;
    const end = (s, error) => {
      if (s.endedAt) return;
      s.endedAt = performance.now();
      s.error ??= error;
      open--;
      if (++ended < count) return;
      clearTimeout(deadline);
      allEnded();
    };
    const deadline = setTimeout(() => streams.forEach((s) => s.endedAt || (s.req.destroy(), end(s, 'deadline'))), withinMs + deadlineMs);
    const openOne = (i) => {
      const payload = JSON.stringify(nth(body, i));
      const s = { sentAt: performance.now(), firstData: undefined, lastData: undefined, maxGap: 0, firstToken: undefined, complete: false, status: 0, tail: '' };
      streams.push(s);
      open++;
      s.req = request(
        { host: '127.0.0.1', port, method: 'POST', path: nth(path, i), agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...nth(headers, i) } },
        (res) => {
          s.status = res.statusCode;
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            const now = performance.now();
            if (chunk.includes('data:')) {
              if (s.lastData === undefined) s.firstData = now - s.sentAt;
              else s.maxGap = Math.max(s.maxGap, now - s.lastData);
              s.lastData = now;
            }
            const seen = s.tail + chunk; // a marker may straddle two reads
            if (s.firstToken === undefined && token.test(seen)) s.firstToken = now - s.sentAt;
            if (!s.complete && seen.includes(done)) s.complete = true;
            s.tail = seen.slice(-256);
          });
          res.on('error', (e) => end(s, e.message));
          res.on('close', () => end(s, res.complete ? undefined : 'connection closed mid-answer'));
        },
      );
      s.req.on('error', (e) => end(s, e.message));
      s.req.end(payload);
    };
    for (let i = 0; i < count; i++) setTimeout(openOne, (i * withinMs) / count, i);
  });
  clearInterval(sampler);
  const lost = streams.filter((s) => s.status !== 200 || !s.complete);
  const reasons = {};
  for (const s of lost) {
    const why = s.error ?? (s.status !== 200 ? `HTTP ${s.status}` : 'ended without its last event');
    reasons[why] = (reasons[why] ?? 0) + 1;
  }
  return {
    ttft: streams.filter((s) => s.status === 200 && s.firstToken !== undefined).map((s) => s.firstToken),
    lost: lost.length,
    lostReasons: reasons,
    stalled: streams.filter((s) => s.maxGap > 1000).length,
    maxGapMs: Math.max(0, ...streams.map((s) => s.maxGap)),
    slowStarts: streams.filter((s) => !(s.firstData <= 1000)).length,
    peakOpen: peak.open,
    rssOpen: peak.rss,
  };
}
