import { Redis } from 'ioredis';
import { ClientRequest, IncomingHttpHeaders, request as httpRequest, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { shutdownGracefully } from '../../src/common/lifecycle/graceful-shutdown';
import { GenerationRegistry } from '../../src/infra/generations/generation-registry';
import { RedisGenerationRegistry } from '../../src/infra/generations/redis-generation-registry';
import { JobQueue } from '../../src/infra/queue/job-queue';
import { TITLE_INSTRUCTIONS } from '../../src/modules/summarization/summarization.prompts';
import { FakeOpenAI } from '../fakes/fake-openai';
import { Ctx, Handler, Route, sleep } from '../fakes/fake-upstream';
import type { SseEvent } from '../support/sse';
import { createTestApp, expectError, registerUser, SignedIn, TEST_REDIS_URL, TestApp } from '../support/test-app';
import { createThrowawayDatabase, ThrowawayDatabase } from './throwaway-database';
import { eventually } from '../support/eventually';

/**
 * Scale-out on Redis: two (sometimes three) instances of the real application on one
 * PostgreSQL database and one Redis, with the same REDIS_KEY_PREFIX, behind no load
 * balancer: the test picks the pod of every request. One fake OpenAI serves them all.
 */

/** This run's deployment: every key, stream, channel and queue of the apps starts with it (removed at the end). */
const PREFIX = `parley-it-${process.pid}-${Date.now()}:`;
const HEARTBEAT_MS = 200;
const ORPHAN_AFTER_MS = 1000;

/** Measured numbers, printed at the end for the lead (and as they come). */
const results: string[] = [];
const report = (line: string) => {
  results.push(line);
  process.stdout.write(`[scale-out] ${line}\n`);
};

// ---------------------------------------------------------------------------------------
// The fake OpenAI, with behaviour per request: a request whose last user message contains a
// marker streams that marker's tokens, with a delay, stalling after some of them (until a
// gate opens or the app closes the connection). Title calls are answered and counted apart.
// ---------------------------------------------------------------------------------------

interface Behaviour {
  tokens: string[];
  /** Pause before each token. */
  delayMs?: number;
  /** After this many tokens, wait for `gate` (for ever when absent) or for the app to close the connection. */
  stallAfter?: number;
  gate?: Promise<void>;
}

interface Upstream {
  /** performance.now() when the app closed the connection before the answer was finished. */
  abortedAt?: number;
  /** Resolves when the connection is closed, whoever closed it. */
  closed: Promise<void>;
}

const titleFor = (firstMessage: string) => `Title of ${firstMessage.replace(/\W+/g, ' ').trim().slice(0, 40)}`;

const closedPromise = (res: ServerResponse) => (res.destroyed ? Promise.resolve() : new Promise<void>((resolve) => res.once('close', () => resolve())));

class ScriptedOpenAI extends FakeOpenAI {
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly byResponse = new WeakMap<ServerResponse, Behaviour>();
  /** The latest upstream call of each marker. */
  readonly upstreams = new Map<string, Upstream>();
  /** Every title call: the first message it was asked to title. */
  readonly titleCalls: string[] = [];

  when(marker: string, behaviour: Behaviour): string {
    this.behaviours.set(marker, behaviour);
    return marker;
  }

  protected override routes(): Route[] {
    return super.routes().map(([method, pattern, handler]): Route => [method, pattern, (ctx) => this.dispatch(ctx, handler)]);
  }

  private dispatch(ctx: Ctx, handler: Handler): void | Promise<void> {
    const messages = ctx.body?.messages as Array<{ role: string; content: string }> | undefined;
    if (!messages?.length) return handler(ctx);
    if (messages[0].role === 'system' && messages[0].content === TITLE_INSTRUCTIONS) {
      const first = String(messages.at(-1)!.content);
      this.titleCalls.push(first);
      if (!ctx.body?.stream) {
        // Non-streaming (what ProviderRegistry.complete sends): one JSON answer, the title.
        const message = { role: 'assistant', content: titleFor(first), refusal: null };
        ctx.res.writeHead(200, { 'content-type': 'application/json' });
        ctx.res.end(JSON.stringify({ id: 'chatcmpl-title', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } }));
        return;
      }
      this.byResponse.set(ctx.res, { tokens: [titleFor(first)] });
      return handler(ctx);
    }
    const last = String(messages.at(-1)!.content);
    const marker = [...this.behaviours.keys()].find((m) => last.includes(m));
    if (marker) {
      const res = ctx.res;
      this.byResponse.set(res, this.behaviours.get(marker)!);
      const upstream: Upstream = {
        closed: new Promise<void>((resolve) =>
          res.once('close', () => {
            if (!res.writableFinished) upstream.abortedAt = performance.now();
            resolve();
          }),
        ),
      };
      this.upstreams.set(marker, upstream);
    }
    return handler(ctx);
  }

  protected override async eachChunk<T = string>(res: ServerResponse, emit: (item: T, i: number) => void, items?: T[]): Promise<boolean> {
    const behaviour = this.byResponse.get(res);
    if (!behaviour) return super.eachChunk(res, emit, items);
    const tokens = behaviour.tokens as unknown as T[];
    for (let i = 0; i < tokens.length; i++) {
      if (i === behaviour.stallAfter) await Promise.race([behaviour.gate ?? new Promise<void>(() => undefined), closedPromise(res)]);
      if (behaviour.delayMs) await sleep(behaviour.delayMs);
      if (res.destroyed) return false;
      emit(tokens[i], i);
    }
    return !res.destroyed;
  }
}

// ---------------------------------------------------------------------------------------
// An incremental SSE reader over node:http: events as they arrive, waits, and a close.
// ---------------------------------------------------------------------------------------

class SseReader {
  status = 0;
  headers: IncomingHttpHeaders = {};
  text = '';
  readonly events: SseEvent[] = [];
  /** performance.now() when the response ended or the connection closed. */
  endedAt?: number;
  readonly ended: Promise<void>;
  private endedResolve!: () => void;
  private req?: ClientRequest;
  private buffer = '';
  private readonly listeners = new Set<() => void>();

  private constructor() {
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
  }

  /** Resolves once the response's status and headers are in (a refused request resolves too: check `status`). */
  static open(port: number, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown): Promise<SseReader> {
    const reader = new SseReader();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path, method, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          reader.status = res.statusCode ?? 0;
          reader.headers = res.headers;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => reader.feed(chunk));
          res.on('end', () => reader.finish());
          res.on('close', () => reader.finish());
          res.on('error', () => reader.finish());
          resolve(reader);
        },
      );
      req.on('error', (error) => (reader.status ? reader.finish() : reject(error)));
      reader.req = req;
      req.end(payload);
    });
  }

  get tokens(): SseEvent[] {
    return this.events.filter((e) => e.event === 'token');
  }

  get json(): any {
    return JSON.parse(this.text);
  }

  /** Closes the connection from the client's side (a tab closing, a network cut). */
  close(): void {
    this.req?.destroy();
  }

  /** Waits until `check` returns something truthy (re-checked on every event); fails when the stream ends first or on timeout. */
  async until<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (this.endedAt !== undefined) throw new Error(`${what}: the stream ended first; got ${this.describe()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms; got ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.listeners.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.listeners.add(done);
      });
    }
  }

  event(name: string, timeoutMs = 5000, where: (e: SseEvent) => boolean = () => true): Promise<SseEvent> {
    return this.until(`event ${name}`, () => this.events.find((e) => e.event === name && where(e)), timeoutMs);
  }

  async end(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream did not end within ${timeoutMs} ms; got ${this.describe()}`)), timeoutMs);
    });
    await Promise.race([this.ended, expired]).finally(() => clearTimeout(timer));
  }

  describe(): string {
    return JSON.stringify(this.events.map((e) => [e.id, e.event, e.event === 'token' ? e.data.token : e.data]));
  }

  private feed(chunk: string): void {
    this.text += chunk;
    this.buffer += chunk;
    let boundary: number;
    while ((boundary = this.buffer.indexOf('\n\n')) >= 0) {
      const frame = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary + 2);
      let id: string | undefined;
      let event: string | undefined;
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) continue; // a comment: heartbeats
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (event === undefined && !data.length) continue;
      let parsed: unknown = null;
      try {
        parsed = data.length ? JSON.parse(data.join('\n')) : null;
      } catch {
        parsed = data.join('\n');
      }
      this.events.push({ id, event: event ?? 'message', data: parsed });
    }
    this.notify();
  }

  private finish(): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = performance.now();
    this.endedResolve();
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

// ---------------------------------------------------------------------------------------
// Exactness of resumes: every token event must start where the text received so far ends.
// ---------------------------------------------------------------------------------------

class ResumeTally {
  resumes = 0;
  lost = 0;
  duplicated = 0;
  /** Token events whose text is not the full answer's at their offset. */
  wrong = 0;

  /**
   * Checks a connection's token events against the full text, from `from` (the offset its
   * Last-Event-ID names, 0 without one); returns the offset reached.
   */
  check(events: SseEvent[], from: number, full: string): number {
    let covered = from;
    for (const e of events) {
      if (e.event !== 'token') continue;
      const end = Number(e.id);
      const token = String(e.data.token);
      const start = end - token.length;
      if (start < covered) this.duplicated++;
      else if (start > covered) this.lost++;
      if (full.slice(start, end) !== token) this.wrong++;
      covered = Math.max(covered, end);
    }
    return covered;
  }
}

/** The text offset an answer event id names (`12`, `12.1`, `12.2`). */
const offsetOf = (id: string | undefined) => Number(String(id).split('.')[0]);

interface Pod {
  name: string;
  t: TestApp;
  port: number;
}

describe('Scale-out on Redis: two app instances (integration: real PostgreSQL and Redis)', () => {
  const fake = new ScriptedOpenAI();
  let db: ThrowawayDatabase;
  let redis: Redis;
  let a: Pod;
  let b: Pod;
  let user: SignedIn;
  const pods: Pod[] = [];

  const boot = async (name: string): Promise<Pod> => {
    const t = await createTestApp({
      listen: true,
      env: {
        DATABASE_URL: db.url,
        MIGRATE_ON_START: 'true',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: PREFIX,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        OPENAI_API_KEY: 'sk-test',
        GENERATION_HEARTBEAT_MS: String(HEARTBEAT_MS),
        GENERATION_ORPHAN_AFTER_MS: String(ORPHAN_AFTER_MS),
        MAX_CONCURRENT_GENERATIONS_PER_USER: '3',
        MAX_SSE_STREAMS_PER_USER: '100',
        PROVIDER_RETRY_BASE_MS: '5',
        SHUTDOWN_GRACE_MS: '1000',
        RATE_LIMITS:
          'register=1000,login=1000,refresh=1000,default=10000,threads.create=1000,threads.list=1000,threads.read=1000,threads.rename=1000,messages.send=1000,messages.list=1000',
      },
    });
    const pod = { name, t, port: (t.app.getHttpServer().address() as AddressInfo).port };
    pods.push(pod);
    return pod;
  };
  /** Every log line of every app (nestjs-pino may send a later app's lines to the first app's destination). */
  const allLogs = () => pods.flatMap((p) => p.t.logs);
  const newThread = async (pod: Pod, who = user) => (await pod.t.http().post('/api/threads').set(who.auth).send({}).expect(201)).body.data.thread.id as string;
  const sendPath = (threadId: string, model: string) => `/api/threads/${threadId}/models/${model}/messages`;
  const streamPath = (threadId: string, model: string, messageId: string) => `${sendPath(threadId, model)}/${messageId}/stream`;
  const send = (pod: Pod, threadId: string, model: string, content: string, who = user) => pod.t.http().post(sendPath(threadId, model)).set(who.auth).send({ content });
  const stream = (pod: Pod, threadId: string, model: string, content: string, who = user) =>
    SseReader.open(pod.port, 'POST', sendPath(threadId, model), who.auth, { content, stream: true });
  const resume = (pod: Pod, threadId: string, model: string, messageId: string, lastEventId?: string, who = user) =>
    SseReader.open(pod.port, 'GET', streamPath(threadId, model, messageId), { ...who.auth, ...(lastEventId !== undefined ? { 'Last-Event-ID': lastEventId } : {}) });
  const follow = async (pod: Pod, threadId: string) => {
    const reader = await SseReader.open(pod.port, 'GET', `/api/threads/${threadId}/events`, user.auth);
    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toMatch(/text\/event-stream/);
    return reader;
  };
  /** A thread+model's assistant messages, listed on `pod` (checked against openapi.json, `interrupted` included). */
  const assistantMessages = async (pod: Pod, threadId: string, model: string) => {
    const res = await pod.t.http().get(`${sendPath(threadId, model)}?limit=50`).set(user.auth).expect(200);
    return (res.body.data.messages as Array<Record<string, unknown>>).filter((m) => m.role === 'assistant');
  };
  const idle = () => Promise.all([a, b].map((p) => p.t.app.get(JobQueue, { strict: false }).idle()));

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    await fake.start();
    db = await createThrowawayDatabase('parley_scale_out');
    // One after the other: both migrate the same database on start.
    a = await boot('A');
    b = await boot('B');
    user = await registerUser(a.t);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(pods.splice(0).map((p) => p.t.close()));
    await fake.stop();
    await db?.drop();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX.replace(/:$/, '')}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    if (results.length) process.stdout.write(`\n[scale-out] results:\n${results.map((r) => `  - ${r}`).join('\n')}\n\n`);
  }, 30_000);

  it("signs in on one pod and is signed in on the other (same JWT secret); both use one prefix's keys", async () => {
    const threads = await b.t.http().get('/api/threads').set(user.auth).expect(200);
    expect(threads.body.success).toBe(true);
    const ready = await b.t.http().get('/api/health/ready').expect(200);
    expect(ready.body.data.checks.redis.status).toBe('up');
  });

  it("follows a thread on B while A answers and is renamed on A: message_start, message_complete, thread_updated (title job's and the rename's)", async () => {
    const threadId = await newThread(a);
    const events = await follow(b, threadId);
    try {
      // The headers came after the subscription was live: the send can start now.
      const marker = fake.when('[events-complete]', { tokens: ['Event', '-driven', ' is', ' great'] });
      const post = await stream(a, threadId, 'gpt-5.5', `${marker} Why events?`);
      await post.end();
      expect(post.events.map((e) => e.event)).toEqual(['message_start', 'token', 'token', 'token', 'token', 'message_complete', 'close']);
      expect(post.events.map((e) => e.id)).toEqual(['0', '5', '12', '15', '21', '21.1', '21.2']);
      const { messageId, userMessageId } = post.events[0].data;

      const started = await events.event('message_start');
      expect(started.data).toEqual({ threadId, messageId, modelId: 'gpt-5.5', userMessageId });
      const completed = await events.event('message_complete');
      expect(completed.data).toEqual({ threadId, messageId, modelId: 'gpt-5.5', status: 'complete' });

      // The first exchange of an untitled thread queued its title job (run by whichever pod's worker took it).
      await idle();
      const autoTitle = titleFor(`${marker} Why events?`);
      expect((await events.event('thread_updated', 5000, (e) => e.data.title === autoTitle)).data).toEqual({ threadId, title: autoTitle });

      await a.t.http().patch(`/api/threads/${threadId}/title`).set(user.auth).send({ title: 'Renamed on A' }).expect(200);
      expect((await events.event('thread_updated', 5000, (e) => e.data.title === 'Renamed on A')).data).toEqual({ threadId, title: 'Renamed on A' });
      // Nothing the test did not cause, and no event twice. (The title job is queued before the answer's end is
      // announced, so its thread_updated may come before or after message_complete; the rename's comes last.)
      const names = events.events.map((e) => e.event);
      expect(names[0]).toBe('message_start');
      expect(names.at(-1)).toBe('thread_updated');
      expect([...names].sort()).toEqual(['message_complete', 'message_start', 'thread_updated', 'thread_updated']);
    } finally {
      events.close();
    }
  });

  it('resumes exactly across pods: live from Redis Streams, from Redis after the end, and from the stored row once the stream expired', async () => {
    const threadId = await newThread(a);
    // ~40 tokens, some of them outside the BMP: ids count UTF-16 code units.
    const tokens = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? ' 🙂' : i % 5 === 1 ? ' café' : ` w${i}`));
    const full = tokens.join('');
    const marker = fake.when('[resume-exact]', { tokens, delayMs: 40 });
    const tally = new ResumeTally();

    const post = await stream(a, threadId, 'gpt-5.5', `${marker} long answer`);
    expect(post.status).toBe(200);
    const { messageId } = (await post.event('message_start')).data;

    // Alternate pods, B first, a few tokens per connection, each reconnect with the last id received.
    let lastId: string | undefined;
    let covered = 0;
    let liveResumes = 0;
    const perConnection = [3, 2, 4, 1];
    for (let k = 0; ; k++) {
      const pod = k % 2 === 0 ? b : a;
      const resumedAt = lastId;
      const reader = await resume(pod, threadId, 'gpt-5.5', messageId, lastId);
      expect(reader.status).toBe(200);
      if (resumedAt !== undefined) {
        tally.resumes++;
        if (!post.events.some((e) => e.event === 'message_complete')) liveResumes++;
      }
      const want = perConnection[k % perConnection.length];
      await reader.until(`${want} tokens or close on ${pod.name}`, () => reader.tokens.length >= want || reader.events.some((e) => e.event === 'close'), 5000);
      reader.close();
      await reader.end();
      if (resumedAt === undefined) expect(reader.events[0]).toMatchObject({ id: '0', event: 'message_start', data: { messageId } });
      else expect(reader.events.some((e) => e.event === 'message_start')).toBe(false);
      covered = tally.check(reader.events, covered, full);
      lastId = reader.events.at(-1)?.id ?? lastId;
      if (reader.events.some((e) => e.event === 'close')) {
        expect(reader.events.slice(-2)).toEqual([
          { id: `${full.length}.1`, event: 'message_complete', data: expect.objectContaining({ messageId }) },
          { id: `${full.length}.2`, event: 'close', data: {} },
        ]);
        break;
      }
    }
    if (covered !== full.length) tally.lost++;
    // The sender's own connection got every token once too.
    await post.end();
    expect(post.tokens.map((e) => e.data.token)).toEqual(tokens);
    expect(new ResumeTally().check(post.events, 0, full)).toBe(full.length);
    expect(liveResumes).toBeGreaterThanOrEqual(5);

    const stored = (await assistantMessages(b, threadId, 'gpt-5.5')).find((m) => m.id === messageId);
    expect(stored).toMatchObject({ status: 'complete', content: full });

    // After the end: mid-stream ids, on B (from Redis) and on A (its own copy), plus a terminal id.
    const tokenIds = post.tokens.map((e) => e.id!);
    const midIds = [tokenIds[4], tokenIds[17], tokenIds[33]];
    const resumeAfterEnd = async (pod: Pod, id: string, fromRow: boolean) => {
      const reader = await resume(pod, threadId, 'gpt-5.5', messageId, id);
      await reader.end();
      tally.resumes++;
      expect(tally.check(reader.events, offsetOf(id), full)).toBe(full.length);
      expect(reader.events.slice(-2).map((e) => [e.id, e.event])).toEqual([
        [`${full.length}.1`, 'message_complete'],
        [`${full.length}.2`, 'close'],
      ]);
      // The stored row's replay is the rest of the text as one token; the stream's are the tokens as streamed.
      const expectedTokens = fromRow ? 1 : tokenIds.filter((t) => Number(t) > offsetOf(id)).length;
      expect(reader.tokens).toHaveLength(expectedTokens);
      return reader;
    };
    expect(await redis.exists(`${PREFIX}stream:${messageId}`)).toBe(1);
    for (const id of midIds) {
      await resumeAfterEnd(b, id, false);
      await resumeAfterEnd(a, id, false);
    }
    const terminal = await resume(b, threadId, 'gpt-5.5', messageId, `${full.length}.1`);
    await terminal.end();
    expect(terminal.events).toEqual([{ id: `${full.length}.2`, event: 'close', data: {} }]);

    // The Redis stream expires (deleted here): B replays from the stored row.
    await redis.del(`${PREFIX}stream:${messageId}`);
    for (const id of midIds) await resumeAfterEnd(b, id, true);
    const fromStart = await resume(b, threadId, 'gpt-5.5', messageId);
    await fromStart.end();
    expect(fromStart.events.map((e) => [e.id, e.event])).toEqual([
      ['0', 'message_start'],
      [String(full.length), 'token'],
      [`${full.length}.1`, 'message_complete'],
      [`${full.length}.2`, 'close'],
    ]);
    expect(fromStart.tokens[0].data.token).toBe(full);

    report(`events lost/duplicated over ${tally.resumes} resumes across pods: ${tally.lost}/${tally.duplicated} (${liveResumes} while generating, token text mismatches: ${tally.wrong})`);
    expect(tally.resumes).toBeGreaterThanOrEqual(10);
    expect({ lost: tally.lost, duplicated: tally.duplicated, wrong: tally.wrong }).toEqual({ lost: 0, duplicated: 0, wrong: 0 });
  }, 30_000);

  it('cancels from the other pod: the owner aborts the upstream call within ~1 s, stores it cancelled, every reader gets CANCELLED then close', async () => {
    const threadId = await newThread(a);
    const events = await follow(b, threadId);
    const marker = fake.when('[cancel-remote]', { tokens: ['One', ' two', ' three', ' four'], stallAfter: 3 });
    try {
      const post = await stream(a, threadId, 'gpt-5.5', `${marker} go`);
      const { messageId, userMessageId } = (await post.event('message_start')).data;
      await post.until('3 tokens on A', () => post.tokens.length >= 3);
      const onB = await resume(b, threadId, 'gpt-5.5', messageId);
      await onB.until('3 tokens on B', () => onB.tokens.length >= 3);

      const t0 = performance.now();
      const res = await b.t.http().post(`${sendPath(threadId, 'gpt-5.5')}/${messageId}/cancel`).set(user.auth).expect(200);
      expect(res.body.data).toEqual({ messageId, cancelled: true });
      const upstream = fake.upstreams.get(marker)!;
      await upstream.closed;
      expect(upstream.abortedAt).toBeDefined();
      const abortMs = upstream.abortedAt! - t0;
      report(`cancel on B -> upstream call aborted by A after ${abortMs.toFixed(0)} ms`);
      expect(abortMs).toBeLessThan(1000);

      await Promise.all([post.end(), onB.end()]);
      for (const reader of [post, onB]) {
        expect(reader.events.slice(-2)).toEqual([
          { id: '13.1', event: 'error', data: expect.objectContaining({ code: 'CANCELLED', messageId }) },
          { id: '13.2', event: 'close', data: {} },
        ]);
        expect(reader.tokens.map((e) => e.data.token).join('')).toBe('One two three');
      }
      const [row] = await assistantMessages(b, threadId, 'gpt-5.5');
      expect(row).toMatchObject({ id: messageId, status: 'cancelled', errorCode: 'CANCELLED', content: 'One two three' });

      expect((await events.event('message_start')).data).toEqual({ threadId, messageId, modelId: 'gpt-5.5', userMessageId });
      expect((await events.event('message_error')).data).toEqual({ threadId, messageId, modelId: 'gpt-5.5', status: 'cancelled', code: 'CANCELLED' });

      // Finished: a second cancel, on either pod, is a conflict.
      expectError(await a.t.http().post(`${sendPath(threadId, 'gpt-5.5')}/${messageId}/cancel`).set(user.auth), 409, 'CONFLICT');
    } finally {
      events.close();
    }
  });

  it('holds one running answer per thread+model and the per-user cap across pods (409 GENERATION_IN_PROGRESS, 429 RATE_LIMITED)', async () => {
    const other = await registerUser(b.t);
    const [x, y] = [await newThread(a, other), await newThread(b, other)];
    const marker = fake.when('[busy]', { tokens: ['Busy', ' busy', ' busy'], stallAfter: 1 });
    // Three answers of one user, on two pods.
    const running = [
      { pod: a, thread: x, model: 'gpt-5.5' },
      { pod: b, thread: x, model: 'gpt-5.4-mini' },
      { pod: b, thread: y, model: 'gpt-5.5' },
    ];
    const readers: SseReader[] = [];
    try {
      for (const r of running) {
        const reader = await stream(r.pod, r.thread, r.model, `${marker} ${r.model}`, other);
        readers.push(reader);
        expect(reader.status).toBe(200);
        await reader.until('first token', () => reader.tokens.length >= 1);
      }
      // The same thread+model on the other pod: refused.
      expectError(await send(b, x, 'gpt-5.5', 'again, on B', other), 409, 'GENERATION_IN_PROGRESS');
      expectError(await send(a, x, 'gpt-5.4-mini', 'again, on A', other), 409, 'GENERATION_IN_PROGRESS');
      const refusedStream = await stream(a, y, 'gpt-5.5', 'again, streamed, on A', other);
      expect(refusedStream.status).toBe(409);
      await refusedStream.end();
      expect(refusedStream.json.error.code).toBe('GENERATION_IN_PROGRESS');
      // A free thread+model, but the user already has three answers running (two on B, one on A).
      const capped = await send(a, y, 'gpt-5.4-mini', 'a fourth one', other);
      expectError(capped, 429, 'RATE_LIMITED');
      expect(capped.body.error.message).toMatch(/generated/);
      // Nothing was stored for the refused sends.
      expect((await b.t.http().get(`${sendPath(y, 'gpt-5.4-mini')}`).set(other.auth).expect(200)).body.data.messages).toEqual([]);

      // Each cancelled from the pod that does not run it; then the thread+model and the cap are free again.
      for (const [i, r] of running.entries()) {
        const messageId = readers[i].events[0].data.messageId;
        const otherPod = r.pod === a ? b : a;
        await otherPod.t.http().post(`${sendPath(r.thread, r.model)}/${messageId}/cancel`).set(other.auth).expect(200);
      }
      await Promise.all(readers.map((r) => r.end()));
      for (const reader of readers) expect(reader.events.at(-2)).toMatchObject({ event: 'error', data: { code: 'CANCELLED' } });
      await send(b, y, 'gpt-5.4-mini', 'now there is room', other).expect(200);
      await send(b, x, 'gpt-5.5', 'and A is done with this one', other).expect(200);
    } finally {
      readers.forEach((r) => r.close());
      await idle();
    }
  });

  it('runs one title job per thread, whichever pods the exchanges of the thread ran on', async () => {
    const before = fake.titleCalls.length;
    // Thread 1: first exchange on A, then B (another model), then A again.
    const t1 = await newThread(a);
    const first1 = 'first question of thread one';
    await send(a, t1, 'gpt-5.5', first1).expect(200);
    await send(b, t1, 'gpt-5.4-mini', 'second, on B').expect(200);
    await send(a, t1, 'gpt-5.5', 'third, on A').expect(200);
    // Thread 2: first exchange on B, then A.
    const t2 = await newThread(b);
    const first2 = 'first question of thread two';
    await send(b, t2, 'gpt-5.4-mini', first2).expect(200);
    await send(a, t2, 'gpt-5.5', 'second, on A').expect(200);
    // Thread 3: the first exchange to two models at once, one on each pod, ending together.
    const t3 = await newThread(a);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const marker = fake.when('[both-models]', { tokens: ['Both', ' at', ' once'], stallAfter: 1, gate });
    const [onA, onB] = await Promise.all([stream(a, t3, 'gpt-5.5', `${marker} on A`), stream(b, t3, 'gpt-5.4-mini', `${marker} on B`)]);
    await Promise.all([onA, onB].map((r) => r.until('first token', () => r.tokens.length >= 1)));
    open();
    await Promise.all([onA.end(), onB.end()]);
    expect([onA, onB].map((r) => r.events.at(-2)?.event)).toEqual(['message_complete', 'message_complete']);
    await idle();

    const calls = fake.titleCalls.slice(before);
    const perThread = {
      t1: calls.filter((c) => c === first1).length,
      t2: calls.filter((c) => c === first2).length,
      t3: calls.filter((c) => c.includes(marker)).length,
    };
    report(`title calls per thread (exchanges on both pods): ${JSON.stringify(perThread)}`);
    expect(perThread).toEqual({ t1: 1, t2: 1, t3: 1 });
    expect(calls).toHaveLength(3);
    // The titles are visible on the other pod.
    expect((await b.t.http().get(`/api/threads/${t1}`).set(user.auth).expect(200)).body.data.thread.title).toBe(titleFor(first1));
    expect((await a.t.http().get(`/api/threads/${t2}`).set(user.auth).expect(200)).body.data.thread.title).toBe(titleFor(first2));
  });

  it('runs one title job when the first message goes to two models at once, on two pods, and one answers much later', async () => {
    // Both sends start before either stores its user message, so both count as the thread's first
    // exchange; the later one ends after the first title job is done (BullMQ dedupes only while pending).
    const before = fake.titleCalls.length;
    const perThread: number[] = [];
    for (let i = 0; i < 3; i++) {
      const threadId = await newThread(a);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const fast = fake.when(`[first-fast-${i}]`, { tokens: ['Quick'] });
      const slow = fake.when(`[first-slow-${i}]`, { tokens: ['Slow', ' one'], stallAfter: 1, gate });
      const [onA, onB] = await Promise.all([stream(a, threadId, 'gpt-5.5', `${fast} hello`), stream(b, threadId, 'gpt-5.4-mini', `${slow} hello`)]);
      await onA.end();
      await idle();
      open();
      await onB.end();
      await idle();
      expect([onA, onB].map((r) => r.events.at(-2)?.event)).toEqual(['message_complete', 'message_complete']);
      perThread.push(fake.titleCalls.slice(before).filter((c) => c.includes(fast) || c.includes(slow)).length);
    }
    report(`title calls per thread, first message to two models at once (one late), 3 threads: ${JSON.stringify(perThread)} (expected [1,1,1])`);
    expect(perThread).toEqual([1, 1, 1]);
  });

  it("drops a revoked personal token on every pod at once, though each pod caches credentials", async () => {
    const created = await a.t.http().post('/api/profile/tokens').set(user.auth).send({ name: 'two-pods' }).expect(201);
    const { token, id } = created.body.data as { token: string; id: string };
    const models = (pod: Pod) => pod.t.http().get('/v1/models').set('Authorization', `Bearer ${token}`);
    // Both pods have looked the token up, so both hold it in their credential cache.
    await models(a).expect(200);
    await models(b).expect(200);
    await a.t.http().delete(`/api/profile/tokens/${id}`).set(user.auth).expect(200);
    // B learns of the revoke through Redis, well within the cache's 30 s.
    await eventually('token refused on B', async () => (await models(b)).status === 401, 2_000);
    expect((await models(a)).status).toBe(401);
  });

  it('exposes Prometheus metrics at /metrics (outside /api)', async () => {
    const res = await request(b.t.app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^parley_http_requests_total\{/m);
  });

  it("finalises a dead pod's answer on the surviving pod: interrupted with the text so far, readers told, thread+model free again", async () => {
    const victim = await boot('V (killed)');
    const threadId = await newThread(a);
    const events = await follow(b, threadId);
    const marker = fake.when('[killed-pod]', { tokens: ['Alpha', ' beta', ' gamma', ' delta'], stallAfter: 3 });
    try {
      const post = await stream(victim, threadId, 'gpt-5.5', `${marker} go`);
      const { messageId } = (await post.event('message_start')).data;
      await post.until('3 tokens on the victim', () => post.tokens.length >= 3);
      const onB = await resume(b, threadId, 'gpt-5.5', messageId);
      await onB.until('3 tokens on B', () => onB.tokens.length >= 3);

      // The victim stops renewing its heartbeats: to the others it is dead (its upstream call stays stalled).
      const registry = victim.t.app.get(GenerationRegistry, { strict: false }) as RedisGenerationRegistry;
      expect(registry).toBeInstanceOf(RedisGenerationRegistry);
      const t0 = performance.now();
      const wallT0 = Date.now();
      registry.stopHeartbeats();

      const row = await eventually(
        'the interrupted answer on B',
        async () => (await assistantMessages(b, threadId, 'gpt-5.5')).find((m) => m.id === messageId && m.status === 'interrupted'),
        5000,
      );
      const finalisedMs = performance.now() - t0;
      await onB.end(2000);
      const readerMs = onB.endedAt! - t0;
      report(
        `dead pod's answer stored as interrupted by the other pod ${finalisedMs.toFixed(0)} ms after its heartbeats stopped (reader on B told after ${readerMs.toFixed(0)} ms; GENERATION_HEARTBEAT_MS=${HEARTBEAT_MS}, GENERATION_ORPHAN_AFTER_MS=${ORPHAN_AFTER_MS})`,
      );
      expect(finalisedMs).toBeLessThan(ORPHAN_AFTER_MS + 4 * HEARTBEAT_MS + 1000);
      expect(row).toMatchObject({ status: 'interrupted', errorCode: 'INTERRUPTED', content: 'Alpha beta gamma' });
      expect(onB.events.slice(-2)).toEqual([
        { id: '16.1', event: 'error', data: expect.objectContaining({ code: 'INTERRUPTED', messageId }) },
        { id: '16.2', event: 'close', data: {} },
      ]);
      expect(onB.tokens.map((e) => e.data.token).join('')).toBe('Alpha beta gamma');
      expect((await events.event('message_error')).data).toEqual({ threadId, messageId, modelId: 'gpt-5.5', status: 'interrupted', code: 'INTERRUPTED' });
      // A late reader on A gets the same end (from Redis, the stream B sealed).
      const late = await resume(a, threadId, 'gpt-5.5', messageId, '10');
      await late.end();
      expect(late.events.map((e) => [e.id, e.event, e.event === 'token' ? e.data.token : e.data.code])).toEqual([
        ['16', 'token', ' gamma'],
        ['16.1', 'error', 'INTERRUPTED'],
        ['16.2', 'close', undefined],
      ]);

      // The thread+model is free again, on any pod.
      const again = await send(b, threadId, 'gpt-5.5', 'are you back?').expect(200);
      expect(again.body.data.assistantMessage.content).toBe('Hello, world!');

      // The victim's own shutdown then tries to store the same answer: it keeps the other pod's row, and does not crash.
      pods.splice(pods.indexOf(victim), 1);
      await victim.t.close();
      await post.end(2000);
      expect(post.events.at(-2)).toMatchObject({ event: 'error', data: { code: 'INTERRUPTED' } });
      const after = (await assistantMessages(b, threadId, 'gpt-5.5')).find((m) => m.id === messageId);
      expect(after).toMatchObject({ status: 'interrupted', errorCode: 'INTERRUPTED', content: 'Alpha beta gamma' });
      // Expected: one warning that the other pod's row stands; no error (nor a stack) logged by any pod since the kill.
      const since = [...allLogs(), ...victim.t.logs].filter((l) => Number(l.time) >= wallT0);
      expect(since.some((l) => String(l.msg).startsWith('The answer had been stored by another server'))).toBe(true);
      expect(since.filter((l) => Number(l.level) >= 50).map((l) => l.msg)).toEqual([]);
    } finally {
      events.close();
    }
  }, 30_000);

  it('shuts a pod down gracefully: readiness 503 while still serving, then the running answer is stored as interrupted (SERVER_SHUTDOWN) and its readers told', async () => {
    const victim = await boot('W (shut down)');
    const threadId = await newThread(a);
    const marker = fake.when('[shutdown]', { tokens: ['Shut', 'down', ' soon', ' never'], stallAfter: 3 });
    const post = await stream(victim, threadId, 'gpt-5.5', `${marker} go`);
    const { messageId } = (await post.event('message_start')).data;
    await post.until('3 tokens', () => post.tokens.length >= 3);
    const onB = await resume(b, threadId, 'gpt-5.5', messageId);
    await onB.until('3 tokens on B', () => onB.tokens.length >= 3);

    const delayMs = 1000;
    const graceMs = 500;
    pods.splice(pods.indexOf(victim), 1);
    const t0 = performance.now();
    const stopped = shutdownGracefully(victim.t.app, { delayMs, graceMs }).then(() => performance.now() - t0);

    const ready = await victim.t.http().get('/api/health/ready').expect(503);
    const readyMs = performance.now() - t0;
    expect(ready.body.error.code).toBe('SERVICE_UNAVAILABLE');
    await victim.t.http().get('/api/health/live').expect(200);

    // Still serving during the delay (fresh connections each time), until it stops accepting.
    let lastServedMs = 0;
    let refusedMs = 0;
    const probe = (async () => {
      for (;;) {
        const status = await new Promise<number>((resolve) => {
          const req = httpRequest({ host: '127.0.0.1', port: victim.port, path: '/api/health/live', agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', () => resolve(0));
          req.end();
        });
        if (status !== 200) {
          refusedMs = performance.now() - t0;
          return;
        }
        lastServedMs = performance.now() - t0;
        await sleep(50);
      }
    })();

    await post.end(delayMs + graceMs + 5000);
    const streamEndedMs = post.endedAt! - t0;
    await onB.end(2000);
    for (const reader of [post, onB]) {
      expect(reader.events.slice(-2)).toEqual([
        { id: '13.1', event: 'error', data: expect.objectContaining({ code: 'SERVER_SHUTDOWN', messageId }) },
        { id: '13.2', event: 'close', data: {} },
      ]);
      expect(reader.tokens.map((e) => e.data.token).join('')).toBe('Shutdown soon');
    }
    const exitMs = await stopped;
    await probe;
    const [row] = await assistantMessages(b, threadId, 'gpt-5.5');
    expect(row).toMatchObject({ id: messageId, status: 'interrupted', errorCode: 'SERVER_SHUTDOWN', content: 'Shutdown soon' });

    report(
      `shutdown timeline (delay ${delayMs} ms, grace ${graceMs} ms): t0 shutdown begun; ready 503 at ${readyMs.toFixed(0)} ms; ` +
        `last request served at ${lastServedMs.toFixed(0)} ms; refused from ${refusedMs.toFixed(0)} ms; answer stream ended (SERVER_SHUTDOWN + close) at ${streamEndedMs.toFixed(0)} ms; ` +
        `reader on B ended at ${(onB.endedAt! - t0).toFixed(0)} ms; shutdown resolved (exit) at ${exitMs.toFixed(0)} ms`,
    );
    expect(readyMs).toBeLessThan(delayMs);
    expect(lastServedMs).toBeGreaterThan(delayMs - 200);
    expect(refusedMs).toBeGreaterThanOrEqual(delayMs);
    expect(streamEndedMs).toBeGreaterThanOrEqual(delayMs + graceMs);
    expect(exitMs).toBeLessThan(delayMs + graceMs + 3000);

    // The thread+model is free on the surviving pod.
    await send(b, threadId, 'gpt-5.5', 'still there?').expect(200);
  }, 30_000);
});
