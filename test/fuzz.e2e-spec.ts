import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import { DEFAULT_RATE_LIMITS } from '../src/common/throttling/rate-limits';
import { DEMO_PASSWORD, DEMO_USERNAME } from '../src/modules/auth/demo-user.seeder';
import {
  Bad,
  badValuesFor,
  bodyWith,
  conforms,
  hasUnstorableText,
  parameterConforms,
  percentEncode,
  plausible,
  preview,
  resolve,
  Route,
  routesFromOpenApi,
  Target,
  toWellFormed,
  valueAt,
} from './support/fuzz-inputs';
import { createTestApp, DEFAULT_PASSWORD, login, registerUser, SignedIn, TestApp } from './support/test-app';

/**
 * Property-based fuzzing of every input of every route in openapi.json: one bad value at a
 * time (wrong types, NUL and lone surrogates, huge and deeply nested values, out-of-range
 * numbers, odd ids and cursors, unknown properties) on an otherwise plausible request.
 * Each answer must be a 4xx in the documented error format (OpenAI's on /v1), or a 2xx when
 * the value is in fact valid; never a 5xx, a dropped connection or a hang.
 */

const SEED = 20261201;
/** Random values per input, after the fixed examples (see badValuesFor). */
const RANDOM_RUNS = 8;
const TIMEOUT = { response: 5_000, deadline: 10_000 };
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const routes = routesFromOpenApi().filter((r) => r.targets.length > 0);
const stats = { cases: 0, '2xx': 0, '4xx': 0, '5xx': 0, timeout: 0, other: 0 };
const started = Date.now();

interface Outcome {
  status: number | 'timeout' | 'connection error';
  body: unknown;
  requestId?: string;
  error?: string;
}

interface Case {
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** May the server accept this request (is the bad value in fact valid)? */
  acceptable: boolean;
}

describe('Fuzzing every route from openapi.json (e2e)', () => {
  let t: TestApp;
  let main: SignedIn;
  let admin: SignedIn;
  /** Owns the profile routes' changes (settings, provider keys, tokens), so `main` stays as it is. */
  let profileUser: SignedIn;
  let loginUser: SignedIn;
  let pk: string;
  let ids: { thread: string; spareThread: string; message: string; conversation: string; spareToken: string; victim: string };

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        RATE_LIMITS: Object.keys(DEFAULT_RATE_LIMITS).map((name) => `${name}=1000000`).join(','),
        PERSIST_TRANSCRIPTS: 'true',
        LLM_DEFAULT_MODEL: 'parley-demo',
      },
    });
    [main, profileUser, loginUser] = [await registerUser(t), await registerUser(t), await registerUser(t)];
    admin = await login(t, DEMO_USERNAME, DEMO_PASSWORD);
    const post = (path: string, who: SignedIn | { Authorization: string }, body: object) =>
      t.http().post(path).set('auth' in who ? who.auth : who).send(body).expect((res) => expect(res.status).toBeLessThan(300));
    pk = (await post('/api/profile/tokens', main, { name: 'fuzz' })).body.data.token;
    const thread = (await post('/api/threads', main, { title: 'fuzz' })).body.data.thread.id;
    const exchange = (await post(`/api/threads/${thread}/models/parley-demo/messages`, main, { content: 'Hello' })).body.data;
    ids = {
      thread,
      spareThread: (await post('/api/threads', main, { title: 'spare' })).body.data.thread.id,
      message: exchange.assistantMessage.id,
      conversation: (await post('/v1/conversations', { Authorization: `Bearer ${pk}` }, { title: 'fuzz' })).body.id,
      spareToken: (await post('/api/profile/tokens', profileUser, { name: 'spare' })).body.data.id,
      victim: (await post('/api/admin/users', admin, { username: `victim.${Date.now()}@example.com`, password: DEFAULT_PASSWORD })).body.data.user.id,
    };
  });

  afterAll(async () => {
    await t?.close();
    const { cases, ...counts } = stats;
    const classes = Object.entries(counts).map(([k, n]) => `${k}=${n}`).join(' ');
    const inputs = routes.reduce((n, r) => n + r.targets.length, 0);
    process.stdout.write(`fuzz: ${cases} cases on ${routes.length} routes (${inputs} inputs) in ${((Date.now() - started) / 1000).toFixed(1)}s: ${classes}\n`);
  });

  /** Who calls the route, and plausible values by field or parameter name. Session-ending routes get a fresh user per case. */
  async function contextFor(route: Route): Promise<{ auth: Record<string, string>; hints: Record<string, unknown> }> {
    const sessionEnding = ['/api/logout', '/api/refresh', '/api/profile/password'].includes(route.path);
    const who = sessionEnding ? await registerUser(t) : route.path.startsWith('/api/admin') ? admin : route.path.startsWith('/api/profile') ? profileUser : main;
    const id = route.path.startsWith('/api/admin/users')
      ? ids.victim
      : route.path.startsWith('/api/profile/tokens')
        ? ids.spareToken
        : route.path.startsWith('/v1/conversations')
          ? ids.conversation
          : route.method === 'delete'
            ? ids.spareThread
            : ids.thread;
    const hints: Record<string, unknown> = {
      id,
      threadId: ids.thread,
      messageId: ids.message,
      modelId: 'parley-demo',
      model: 'parley-demo',
      role: 'user',
      'Last-Event-ID': '0',
      'X-Conversation-Id': ids.conversation,
      refreshToken: who.refreshToken,
      currentPassword: DEFAULT_PASSWORD,
    };
    if (route.path === '/api/login') Object.assign(hints, { username: loginUser.user.username, password: DEFAULT_PASSWORD });
    return { auth: route.openAI ? { Authorization: `Bearer ${pk}` } : who.auth, hints };
  }

  /** The plausible request with `value` put in place of the target. */
  async function buildCase(route: Route, target: Target, value: unknown): Promise<Case> {
    const { auth, hints } = await contextFor(route);
    const params: Record<string, string | string[] | undefined> = {};
    for (const p of route.parameters) if (p.required || p.name in hints) params[p.name] = String(plausible(p.schema, hints, p.name));
    const name = String(target.path[0]);
    let acceptable = true;
    let body: string | undefined;
    if (target.location === 'body') {
      const sent = bodyWith(plausible(route.body, hints), target, value);
      body = sent.text;
      // /v1 drops unknown fields (OpenAI clients send many), so their content is never stored.
      const ignored = target.unknownProperty && route.openAI;
      acceptable = conforms(route.body, sent.parsed, route.openAI) && (ignored || !hasUnstorableText(value));
    } else if (target.unknownProperty) {
      params[name] = value as string;
    } else {
      params[name] = value as string | string[] | undefined;
      const parameter = route.parameters.find((p) => p.name === name)!;
      // The query parser turns undecodable bytes (a lone surrogate's) into U+FFFD; a path parameter's must be refused.
      const received = target.location === 'query' && typeof value === 'string' ? toWellFormed(value) : value;
      acceptable = parameterConforms(parameter.schema, received as string | string[] | undefined, parameter.required === true) && !hasUnstorableText(received);
    }
    const headers: Record<string, string> = { ...auth };
    const query: string[] = [];
    for (const p of route.parameters) {
      const v = params[p.name];
      if (v === undefined) continue;
      if (p.in === 'header') headers[p.name] = String(v);
      if (p.in === 'query') for (const item of [v].flat()) query.push(`${p.name}=${percentEncode(item)}`);
    }
    if (target.location === 'query' && target.unknownProperty) query.push(`${name}=${percentEncode(String(value))}`);
    const path = route.path.replace(/\{(\w+)\}/g, (_m, p: string) => percentEncode(String(params[p])));
    return { url: query.length ? `${path}?${query.join('&')}` : path, headers, body, acceptable };
  }

  /** Sends the case with a bounded wait; an event stream counts once its headers arrive. */
  async function send(route: Route, c: Case): Promise<Outcome> {
    let req = t.http()[route.method](c.url).set(c.headers).timeout(TIMEOUT).ok(() => true).buffer(true).parse((res, done) => readBody(res as unknown as IncomingMessage, done));
    if (c.body !== undefined) req = req.set('content-type', 'application/json').send(c.body);
    try {
      const res = await req;
      return { status: res.status, body: res.body, requestId: res.headers['x-request-id'] };
    } catch (error) {
      const e = error as Error & { timeout?: number };
      return { status: e.timeout ? 'timeout' : 'connection error', body: undefined, error: e.message };
    }
  }

  function record(outcome: Outcome): void {
    stats.cases++;
    const s = outcome.status;
    const key = typeof s === 'number' ? (s >= 200 && s < 300 ? '2xx' : s >= 400 && s < 500 ? '4xx' : s >= 500 ? '5xx' : 'other') : s === 'timeout' ? 'timeout' : 'other';
    stats[key]++;
  }

  /** What is wrong with the answer, or undefined. */
  function problemWith(route: Route, c: Case, outcome: Outcome): string | undefined {
    const { status, body } = outcome;
    if (typeof status !== 'number') return `${status}: ${outcome.error}`;
    if (status >= 500) return `${status}`;
    if (status >= 200 && status < 300) return c.acceptable ? undefined : `${status} for an invalid value`;
    if (status < 400) return `unexpected ${status}`;
    const ok = route.openAI ? isOpenAIError(body) : isEnvelope(body, outcome.requestId);
    return ok ? undefined : `${status} without the ${route.openAI ? "OpenAI error format" : 'error envelope'}`;
  }

  /** The server's error log line for a request, condensed to its message, database code and first frames. */
  function serverLog(requestId: string | undefined): string {
    const line = t.logs.find((l) => l.requestId === requestId && Number(l.level) >= 50 && l.msg !== 'request:end');
    if (!line) return '';
    const [first, ...rest] = String(line.msg).split('\n');
    const detail = rest.filter((l) => /Code: `|Message: `|invalid input/.test(l)).map((l) => l.trim());
    const frames = String((line.err as { stack?: string } | undefined)?.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 2).map((l) => l.trim());
    return `\n  server log: ${[first, ...detail, ...frames].join('\n    ')}`;
  }

  const METHOD_WIDTH = 6;
  for (const route of routes) {
    describe(`${route.method.toUpperCase().padEnd(METHOD_WIDTH)} ${route.path}`, () => {
      for (const target of route.targets) {
        it(target.label, async () => {
          const { hints } = await contextFor(route);
          const baseRequest = { ...Object.fromEntries(route.parameters.map((p) => [p.name, plausible(p.schema, hints, p.name)])) };
          const base = target.location === 'body' ? valueAt(plausible(route.body, hints), target.path) : baseRequest[String(target.path[0])];
          const { examples, arbitrary } = badValuesFor(target, base ?? plausible(resolve(target.schema), hints));
          const property = fc.asyncProperty(arbitrary, async (bad: Bad) => {
            const c = await buildCase(route, target, bad.value);
            const outcome = await send(route, c);
            record(outcome);
            const problem = problemWith(route, c, outcome);
            const log = problem ? serverLog(outcome.requestId) : '';
            t.logs.length = 0;
            if (problem) {
              const answer = preview(outcome.body);
              throw new Error(`${route.method.toUpperCase()} ${c.url.slice(0, 160)} with ${target.label} = ${preview(bad.value)} → ${problem} ${answer}${log}`);
            }
          });
          await fc.assert(property, { seed: SEED, examples: examples.map((e) => [e]), numRuns: examples.length + RANDOM_RUNS, interruptAfterTimeLimit: 15_000 });
        }, 60_000);
      }
    });
  }

  it('is still alive and serving after the fuzzing', async () => {
    await t.http().get('/api/health/live').expect(200);
    await t.http().get('/api/profile').set(main.auth).expect(200);
    await t.http().post(`/api/threads/${ids.thread}/models/parley-demo/messages`).set(main.auth).send({ content: 'Still there?' }).expect(200);
    await t.http().get('/v1/models').set('Authorization', `Bearer ${pk}`).expect(200);
  });
});

/** Supertest body parser: JSON (or text) bodies in full; an event stream ends at its headers. */
function readBody(res: IncomingMessage, done: (error: Error | null, body: unknown) => void): void {
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    done(null, { eventStream: true });
    res.destroy();
    return;
  }
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.on('end', () => {
    try {
      done(null, text ? JSON.parse(text) : undefined);
    } catch {
      done(null, text);
    }
  });
}

function isEnvelope(body: unknown, requestId: string | undefined): boolean {
  const b = body as { success?: unknown; error?: { code?: unknown; message?: unknown }; timestamp?: unknown; requestId?: unknown } | undefined;
  return (
    b?.success === false &&
    typeof b.error?.code === 'string' &&
    typeof b.error.message === 'string' &&
    typeof b.timestamp === 'string' &&
    ISO.test(b.timestamp) &&
    b.requestId === requestId &&
    Object.keys(b).sort().join() === 'error,requestId,success,timestamp'
  );
}

function isOpenAIError(body: unknown): boolean {
  const e = (body as { error?: Record<string, unknown> } | undefined)?.error;
  const textOrNull = (v: unknown) => v === null || typeof v === 'string';
  return !!e && typeof e.message === 'string' && typeof e.type === 'string' && textOrNull(e.param) && textOrNull(e.code) && Object.keys(body as object).length === 1;
}
