#!/usr/bin/env node
// One benchmark, side by side against the same mock OpenAI-compatible upstream:
//   - a raw node:http proxy (bench/lib/raw-proxy.mjs), the floor any Node gateway stands on,
//   - Portkey's gateway (@portkey-ai/gateway, its own Node server),
//   - Parley (dist/main.js, production mode, default logging) on its embedded database, and
//     a second Parley on PostgreSQL when BENCH_DATABASE_URL is set.
// Figures, each measured on every system in turn after a warm-up:
//   - POST /v1/chat/completions, non-streaming, concurrency 1 on one keep-alive socket:
//     latency added over the upstream called directly (interleaved rounds), p50 and p99;
//   - answers per second with 50 connections (autocannon);
//   - 500 streams opened within 1 s on an upstream that streams 20 tokens 100 ms apart:
//     time to first token added over the upstream's own, streams lost (no [DONE]), streams
//     stalled (over 1 s between two chunks), and memory: RSS idle, and RSS per open stream;
//   - Parley only, its chat path (POST /api/threads/:t/models/:m/messages, streamed): the
//     same 500-stream figure, and the concurrency-1 added first-token time (bench:ttft's).
// Gateways run on CPU 0, the upstream and the load generator (this process) on CPU 1 when
// taskset and two CPUs are there. Prints one markdown table (stdout); progress on stderr.
//   npm run build && npm run bench
//   BENCH_DATABASE_URL=postgresql://…/throwaway npm run bench   (adds Parley on PostgreSQL)
//   BENCH_QUICK=1 npm run bench                                  (a smoke run: fewer rounds, shorter runs)
//   BENCH_BASELINE_DIR=/path/to/other/checkout npm run bench     (adds that built checkout's Parley,
//                                                                 embedded: before and after in one run)
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHAT_DONE,
  CHAT_TOKEN,
  chatSender,
  interleaved,
  streamBurst,
  throughput,
  upstreamStreamSender,
  V1_DONE,
  V1_TOKEN,
  v1Body,
  v1Sender,
} from './lib/measure.mjs';
import { busyShare, canPin, cpuTimes, idleRssOf, logFile, onCpu, pinSelf, startPortkey, startRawProxy, startUpstreamProcess } from './lib/processes.mjs';
import { summarizeLogs } from './lib/logs.mjs';
import { createThread, createToken, percentile as pct, registerUser, startApp, TEXT, TOKENS } from './support.mjs';

const QUICK = !['', '0', 'false', undefined].includes(process.env.BENCH_QUICK);
const PLAN = {
  warmUpSeconds: QUICK ? 1 : 3,
  latency: QUICK ? { rounds: 3, perRound: 30, warmUp: 50 } : { rounds: 10, perRound: 100, warmUp: 200 },
  rps: QUICK ? { rounds: 1, seconds: 2 } : { rounds: 2, seconds: 5 },
  connections: 50,
  streams: 500,
  streamsWithinMs: 1000,
  warmUpStreams: 50,
  // Long enough that every stream of the burst is open at once.
  paced: { tokens: Array.from({ length: 20 }, (_, i) => `t${i} `), intervalMs: 100 },
  chatTtft: { rounds: QUICK ? 20 : 100, warmUp: 5 },
  settleMs: 2000,
};
// A chat user may have 100 answers generating at most (MAX_CONCURRENT_GENERATIONS_PER_USER's ceiling): 50 each.
const CHAT_USERS = Math.ceil(PLAN.streams / 50);
const CHAT_MODEL = 'gpt-5.5';
const PARLEY_ENV = {
  // Every cap above the load, so that what is measured is the work, not a refusal.
  MAX_SSE_STREAMS_PER_USER: '10000',
  MAX_CONCURRENT_CALLS_PER_USER: '10000',
  MAX_CONCURRENT_CALLS_PER_TOKEN: '10000',
  MAX_CONCURRENT_GENERATIONS_PER_USER: '100',
  // Only shortens the stop at the end (no load balancer to drain).
  SHUTDOWN_DELAY_MS: '0',
};
const RATE_LIMITS = 'gateway=1000000000,register=1000,profile.tokens=1000,threads.create=1000000,messages.send=1000000';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const progress = (message) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
const T0 = performance.now();

if (!existsSync('dist/main.js')) {
  console.error('dist/main.js is missing: run `npm run build` first (then `npm run bench`).');
  process.exit(2);
}
process.on('SIGINT', () => process.exit(130)); // 'exit' handlers stop every child
process.on('SIGTERM', () => process.exit(143));

const logs = mkdtempSync(join(tmpdir(), 'parley-bench-logs-'));
const stoppers = [];

try {
  await main();
} catch (error) {
  console.error(`\nbench failed: ${error.stack ?? error}\n(logs of the systems under test: ${logs})`);
  // Give every child a few seconds to stop; whatever is left gets SIGTERM from its 'exit' handler.
  await Promise.race([Promise.all(stoppers.map((stop) => stop().catch(() => undefined))), sleep(10_000)]);
  process.exit(1);
}

async function main() {
  pinSelf(1);
  progress(`${QUICK ? 'quick run' : 'full run'}; ${canPin ? 'gateways pinned to CPU 0, upstream and load generator to CPU 1' : 'no pinning (needs taskset and 2 CPUs)'}; logs in ${logs}`);

  // --- The systems ------------------------------------------------------------------------
  const upstream = await startUpstreamProcess({ cpu: 1 });
  stoppers.push(upstream.stop);
  const direct = { key: 'direct', label: 'upstream directly', port: upstream.port, pid: upstream.pid, headers: {} };

  const raw = await startRawProxy(upstream.port, { cpu: 0, log: join(logs, 'raw-proxy.log') });
  stoppers.push(raw.stop);
  const portkey = await startPortkey(upstream.port, { cpu: 0, log: join(logs, 'portkey.log') });
  stoppers.push(portkey.stop);
  const systems = [
    { key: 'raw', label: 'raw node proxy', port: raw.port, pid: raw.pid, headers: {} },
    { key: 'portkey', label: `Portkey ${portkey.version}`, port: portkey.port, pid: portkey.pid, headers: portkey.headers, log: join(logs, 'portkey.log') },
    await startParley('pglite', 'Parley (PGlite)', null, upstream.port),
  ];
  if (process.env.BENCH_BASELINE_DIR) systems.push(await startParley('baseline', 'Parley baseline (PGlite)', null, upstream.port, process.env.BENCH_BASELINE_DIR));
  if (process.env.BENCH_DATABASE_URL) systems.push(await startParley('postgres', 'Parley (PostgreSQL)', process.env.BENCH_DATABASE_URL, upstream.port));
  const parleys = systems.filter((s) => s.parley);
  progress(`started: ${systems.map((s) => s.label).join(', ')}`);
  const notes = [parleyBuild()];

  /**
   * Waits until the upstream has nothing in flight (a system's leftovers), then `ms` more;
   * what the CPUs did meanwhile is other processes' load (the systems under test are idle).
   */
  const background = [];
  const settle = async (ms = PLAN.settleMs) => {
    for (let i = 0; i < 600 && (await upstream.inFlight()) > 0; i++) await sleep(100);
    const before = cpuTimes();
    await sleep(ms);
    background.push(busyShare(before, cpuTimes()));
  };
  const results = Object.fromEntries([direct, ...systems].map((s) => [s.key, {}]));

  // --- Warm-up: JIT, pools and caches of every system ---------------------------------------
  await upstream.setStreaming({ tokens: TOKENS, intervalMs: 0 });
  for (const s of systems) {
    progress(`warm-up: ${s.label}, ${PLAN.connections} connections for ${PLAN.warmUpSeconds} s`);
    await throughput({ port: s.port, headers: s.headers, body: v1Body(false), connections: PLAN.connections, seconds: PLAN.warmUpSeconds });
  }

  // --- Added latency, non-streaming, concurrency 1 ------------------------------------------
  const { rounds, perRound, warmUp } = PLAN.latency;
  progress(`latency: ${rounds} interleaved rounds of ${perRound} requests per system (after ${warmUp} each)`);
  const senders = Object.fromEntries([direct, ...systems].map((s) => [s.key, v1Sender({ port: s.port, headers: s.headers, text: TEXT, who: s.label })]));
  const latency = await interleaved(senders, PLAN.latency);
  Object.values(senders).forEach((send) => send.close());
  for (const s of [direct, ...systems]) {
    results[s.key].latencyP50 = pct(latency[s.key], 50) - pct(latency.direct, 50);
    results[s.key].latencyP99 = pct(latency[s.key], 99) - pct(latency.direct, 99);
  }
  notes.push(`upstream called directly: p50 ${ms(pct(latency.direct, 50))}, p99 ${ms(pct(latency.direct, 99))} (${latency.direct.length} requests per system)`);

  // --- Answers per second, 50 connections ---------------------------------------------------
  const rps = Object.fromEntries([direct, ...systems].map((s) => [s.key, { ok: 0, seconds: 0, non2xx: 0, errors: 0, busy: [] }]));
  for (let round = 0; round < PLAN.rps.rounds; round++) {
    for (const s of [direct, ...systems]) {
      progress(`req/s round ${round + 1}/${PLAN.rps.rounds}: ${s.label}`);
      const r = await throughput({ port: s.port, headers: s.headers, body: v1Body(false), connections: PLAN.connections, seconds: PLAN.rps.seconds });
      const sum = rps[s.key];
      Object.assign(sum, { ok: sum.ok + r.ok, seconds: sum.seconds + r.seconds, non2xx: sum.non2xx + r.non2xx, errors: sum.errors + r.errors + r.timeouts });
      sum.busy.push(r.busy);
      await sleep(500);
    }
  }
  for (const s of [direct, ...systems]) {
    const r = rps[s.key];
    results[s.key].rps = r.seconds ? r.ok / r.seconds : 0;
    if (r.non2xx || r.errors) notes.push(`req/s, ${s.label}: ${r.non2xx} non-2xx answers and ${r.errors} errors/timeouts (not counted)`);
  }
  const busy = (key) => {
    const shares = rps[key].busy;
    const mean = (cpu) => shares.reduce((n, b) => n + (b[cpu] ?? 0), 0) / shares.length;
    return `CPU 0 ${(100 * mean(0)).toFixed(0)}%, CPU 1 ${(100 * mean(1)).toFixed(0)}%`;
  };
  notes.push(
    `req/s with ${PLAN.connections} connections: upstream directly ${num(results.direct.rps)}/s (${busy('direct')} busy); ` +
      `through the raw proxy ${num(results.raw.rps)}/s (${busy('raw')} busy: CPU 1 runs the upstream and autocannon, CPU 0 the gateway)`,
  );

  // --- 500 concurrent /v1 streams, and memory ---------------------------------------------
  await upstream.setStreaming(PLAN.paced);
  const burst = { count: PLAN.streams, withinMs: PLAN.streamsWithinMs, token: V1_TOKEN, done: V1_DONE, body: v1Body(true) };
  for (const s of [direct, ...systems]) {
    progress(`${PLAN.streams} /v1 streams: ${s.label}`);
    await streamBurst({ ...burst, port: s.port, headers: s.headers, count: PLAN.warmUpStreams, withinMs: 250 });
    await settle();
    const idle = s === direct ? NaN : await idleRssOf(s.pid);
    const r = await streamBurst({ ...burst, port: s.port, headers: s.headers, pid: s === direct ? undefined : s.pid });
    Object.assign(results[s.key], {
      rssIdle: idle,
      rssPerStream: r.rssOpen >= idle ? (r.rssOpen - idle) / r.peakOpen : NaN, // see the note below when NaN
      streamTtft: r.ttft,
      streamsLost: r.lost,
      streamsStalled: r.stalled,
    });
    if (r.lost) notes.push(`/v1 streams lost, ${s.label}: ${JSON.stringify(r.lostReasons)}`);
    if (r.stalled) notes.push(`/v1 streams stalled, ${s.label}: ${r.stalled} (longest gap between chunks ${ms(r.maxGapMs)})`);
    if (r.slowStarts) notes.push(`/v1 streams whose first chunk took over 1 s, ${s.label}: ${r.slowStarts}`);
    if (s !== direct && r.peakOpen < PLAN.streams) notes.push(`RSS per stream, ${s.label}: at most ${r.peakOpen} streams were open at once`);
    if (r.rssOpen < idle) notes.push(`RSS per stream, ${s.label}: RSS fell while the streams were open (a GC gave back more than they hold); not measurable this run`);
  }
  for (const s of systems) {
    results[s.key].streamTtftP50 = pct(results[s.key].streamTtft, 50) - pct(results.direct.streamTtft, 50);
    results[s.key].streamTtftP99 = pct(results[s.key].streamTtft, 99) - pct(results.direct.streamTtft, 99);
  }
  notes.push(`upstream's first token with ${PLAN.streams} streams open, called directly: p50 ${ms(pct(results.direct.streamTtft, 50))}, p99 ${ms(pct(results.direct.streamTtft, 99))}`);

  // --- Parley's chat path: 500 concurrent streamed answers --------------------------------
  for (const p of parleys) {
    progress(`chat: ${CHAT_USERS} users and ${PLAN.streams + PLAN.warmUpStreams} threads on ${p.label}`);
    p.chat = await chatFixture(p, PLAN.streams + PLAN.warmUpStreams);
  }
  const chatBurst = (p, from, count, withinMs, pid) =>
    streamBurst({
      port: p.port,
      count,
      withinMs,
      pid,
      token: CHAT_TOKEN,
      done: CHAT_DONE,
      // Users take turns, so that each holds an equal share of the answers generating.
      path: (i) => `/api/threads/${p.chat.threads[(from + i) % CHAT_USERS][Math.floor((from + i) / CHAT_USERS)]}/models/${CHAT_MODEL}/messages`,
      headers: (i) => ({ cookie: p.chat.cookies[(from + i) % CHAT_USERS] }),
      body: (i) => ({ content: `question ${from + i}`, stream: true }),
    });
  await settle();
  progress(`${PLAN.streams} streams to the upstream directly (the chat figure's reference)`);
  const chatDirect = await streamBurst({ ...burst, port: upstream.port });
  for (const p of parleys) {
    progress(`chat: ${PLAN.streams} streamed answers on ${p.label}`);
    await chatBurst(p, PLAN.streams, PLAN.warmUpStreams, 250);
    await settle();
    const idle = await idleRssOf(p.pid);
    const r = await chatBurst(p, 0, PLAN.streams, PLAN.streamsWithinMs, p.pid);
    Object.assign(results[p.key], {
      chatTtftP50: pct(r.ttft, 50) - pct(chatDirect.ttft, 50),
      chatTtftP99: pct(r.ttft, 99) - pct(chatDirect.ttft, 99),
      chatLost: r.lost,
      chatStalled: r.stalled,
    });
    notes.push(`chat path, ${p.label}: RSS ${mb(idle)} idle, ${kb((r.rssOpen - idle) / r.peakOpen)} per open answer stream (${r.peakOpen} open)`);
    if (r.lost) notes.push(`chat answers lost, ${p.label}: ${JSON.stringify(r.lostReasons)}`);
    if (r.stalled) notes.push(`chat answers stalled, ${p.label}: ${r.stalled} (longest gap between chunks ${ms(r.maxGapMs)})`);
    if (r.slowStarts) notes.push(`chat answers whose first chunk took over 1 s, ${p.label}: ${r.slowStarts}`);
  }
  notes.push(`upstream's first token, ${PLAN.streams} streams directly (chat figure's reference): p50 ${ms(pct(chatDirect.ttft, 50))}, p99 ${ms(pct(chatDirect.ttft, 99))}`);

  // --- Parley's chat path at concurrency 1 (bench:ttft) ------------------------------------
  await settle(500);
  await upstream.setStreaming({ tokens: TOKENS, intervalMs: 0 });
  progress(`chat, concurrency 1: ${PLAN.chatTtft.rounds} interleaved rounds`);
  const chatSenders = { direct: upstreamStreamSender(upstream.port) };
  for (const p of parleys) {
    const cookie = await registerUser(p.port);
    chatSenders[p.key] = chatSender({ port: p.port, cookie, thread: await createThread(p.port, cookie), model: CHAT_MODEL });
  }
  const ttft = await interleaved(chatSenders, { ...PLAN.chatTtft, value: (res) => res.firstToken });
  Object.values(chatSenders).forEach((send) => send.close());
  for (const p of parleys) results[p.key].chatTtftC1 = pct(ttft[p.key], 50) - pct(ttft.direct, 50);
  notes.push(`upstream's first token at concurrency 1, directly: median ${ms(pct(ttft.direct, 50))}`);

  // --- Stop everything, then report --------------------------------------------------------
  notes.push(backgroundNote(background));
  progress('stopping');
  await Promise.all(stoppers.splice(0).map((stop) => stop()));
  for (const s of systems.filter((s) => s.log)) notes.push(...(await summarizeLogs(s.label, s.log)));
  printTable(systems, results, notes);
  progress(`done in ${((performance.now() - T0) / 1000).toFixed(0)} s`);
}

/** A Parley on CPU 0 with every limit above the load, default logging to a file, and a pk_ token for /v1. */
async function startParley(key, label, databaseUrl, upstreamPort, appDir = '.') {
  const log = join(logs, `parley-${key}.log`);
  const out = logFile(log);
  const app = await startApp(upstreamPort, RATE_LIMITS, { databaseUrl, logLevel: null, env: PARLEY_ENV, command: onCpu(0), stdout: out, stderr: out, label, log, appDir });
  stoppers.push(app.stop);
  const token = await createToken(app.port, await registerUser(app.port));
  return { key, label, port: app.port, pid: app.child.pid, headers: { authorization: `Bearer ${token}` }, parley: true, log };
}

/** Which Parley was measured: dist/ is whatever `npm run build` last built. */
function parleyBuild() {
  try {
    const { commit, buildTime } = JSON.parse(readFileSync('dist/build-info.json', 'utf8'));
    return `Parley measured: dist/ built ${buildTime} from commit ${commit}`;
  } catch {
    return 'Parley measured: dist/ (no build-info.json)';
  }
}

/** CHAT_USERS users of Parley `p` with `count` threads between them (one answer per thread at a time). */
async function chatFixture(p, count) {
  const cookies = [];
  for (let u = 0; u < CHAT_USERS; u++) cookies.push(await registerUser(p.port));
  const threads = await Promise.all(
    cookies.map(async (cookie) => {
      const mine = [];
      for (let t = 0; t < Math.ceil(count / CHAT_USERS); t++) mine.push(await createThread(p.port, cookie));
      return mine;
    }),
  );
  return { cookies, threads };
}

/** Other processes' CPU use while the systems under test were idle: a busy machine skews every figure. */
function backgroundNote(samples) {
  const cpus = Object.keys(samples[0] ?? {});
  const mean = (cpu) => samples.reduce((n, s) => n + s[cpu], 0) / samples.length;
  const max = (cpu) => Math.max(...samples.map((s) => s[cpu]));
  const shown = cpus.map((cpu) => `CPU ${cpu} ${(100 * mean(cpu)).toFixed(0)}% (max ${(100 * max(cpu)).toFixed(0)}%)`).join(', ');
  const busy = cpus.some((cpu) => max(cpu) > 0.1);
  return `${busy ? 'WARNING, other processes were busy: ' : ''}CPU use while the systems under test were idle (${samples.length} settle windows): ${shown}`;
}

// --- The table -------------------------------------------------------------------------------
function printTable(systems, results, notes) {
  const raw = results.raw;
  const portkey = results.portkey;
  /** A row: label, the figure's key, how to show it, and whether Parley's cell gets ratios. */
  const rows = [
    ['/v1 non-streaming, added latency p50 (c=1)', 'latencyP50', ms, true],
    ['/v1 non-streaming, added latency p99 (c=1)', 'latencyP99', ms, true],
    [`/v1 non-streaming, req/s (${PLAN.connections} connections)`, 'rps', num, true],
    [`/v1 ${PLAN.streams} streams, added TTFT p50`, 'streamTtftP50', ms, true],
    [`/v1 ${PLAN.streams} streams, added TTFT p99`, 'streamTtftP99', ms, true],
    [`/v1 ${PLAN.streams} streams, lost`, 'streamsLost', count, false],
    [`/v1 ${PLAN.streams} streams, stalled (>1 s between chunks)`, 'streamsStalled', count, false],
    [`chat ${PLAN.streams} streams, added TTFT p50`, 'chatTtftP50', ms, false],
    [`chat ${PLAN.streams} streams, added TTFT p99`, 'chatTtftP99', ms, false],
    [`chat ${PLAN.streams} streams, lost`, 'chatLost', count, false],
    [`chat ${PLAN.streams} streams, stalled (>1 s between chunks)`, 'chatStalled', count, false],
    ['chat added TTFT median (c=1)', 'chatTtftC1', ms, false],
    ['RSS idle', 'rssIdle', mb, true],
    [`RSS per open /v1 stream (${PLAN.streams} open)`, 'rssPerStream', kb, true],
  ];
  const ratio = (value, base) => {
    if (!(Number.isFinite(value) && Number.isFinite(base) && base > 0 && value >= 0)) return '—';
    const r = value / base;
    return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)}×`;
  };
  const cell = (system, [, key, show, ratios]) => {
    const value = results[system.key][key];
    if (value === undefined) return 'n/a';
    if (!system.parley || !ratios) return show(value);
    return `${show(value)} (${ratio(value, raw[key])} raw, ${ratio(value, portkey[key])} Portkey)`;
  };
  const lines = [
    `| Figure | ${systems.map((s) => s.label).join(' | ')} |`,
    `|---|${systems.map(() => '---:').join('|')}|`,
    ...rows.map((row) => `| ${row[0]} | ${systems.map((s) => cell(s, row)).join(' | ')} |`),
  ];
  console.log(`\n${lines.join('\n')}\n`);
  console.log(`Parley cells: value (Parley ÷ raw proxy, Parley ÷ Portkey). "Added" = the system's figure minus the upstream's own, measured in the same interleaved rounds.`);
  console.log(
    `${QUICK ? 'Quick run (BENCH_QUICK): fewer rounds, shorter runs. ' : ''}${canPin ? 'Gateways on CPU 0; upstream and load generator on CPU 1.' : 'Not pinned to CPUs.'} ` +
      `Streams: ${PLAN.streams} opened within ${PLAN.streamsWithinMs / 1000} s, one connection each; the upstream streams ${PLAN.paced.tokens.length} tokens ${PLAN.paced.intervalMs} ms apart.`,
  );
  for (const note of notes) console.log(`- ${note}`);
}

function ms(value) {
  return Number.isFinite(value) ? `${value.toFixed(2)} ms` : '—';
}
function num(value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}
function count(value) {
  return String(value);
}
function mb(bytes) {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MB` : '—';
}
function kb(bytes) {
  return Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KB` : '—';
}
