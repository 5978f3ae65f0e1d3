import { request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaService } from '../src/infra/database/prisma.service';
import { FakeOllama } from './fakes';
import { createTestApp, DEFAULT_PASSWORD, login, registerUser, sessionFrom, SignedIn, TestApp } from './support/test-app';

/**
 * Login protection, concurrency caps, model loads and audit, each written as the attack the
 * security review found. Sign-in tests come from several client addresses: TRUST_PROXY lets
 * the test client (on loopback) name them in X-Forwarded-For.
 */

interface Opened {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Body of a non-SSE answer (429s), parsed. */
  body?: any;
  /** Text received so far on an SSE answer. */
  text: () => string;
  close: () => void;
}

/** Opens a request and resolves at its response headers; SSE answers stay open until `close()`. */
function open(port: number, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk));
        res.on('error', () => undefined);
        const opened = { status: res.statusCode!, headers: res.headers, text: () => text, close: () => req.destroy() };
        if (String(res.headers['content-type']).startsWith('text/event-stream')) return resolve(opened);
        res.on('end', () => resolve({ ...opened, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Resolves once the stream has sent something matching `pattern`. */
async function until(stream: Opened, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 200 && !pattern.test(stream.text()); i++) await sleep(25);
  const match = stream.text().match(pattern);
  if (!match) throw new Error(`stream never sent ${pattern}: ${stream.text()}`);
  return match[1] ?? match[0];
}

describe('Sign-in protection with seed 001 limits (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let n = 0;
  const ip = () => `10.${Math.floor(++n / 250)}.${n % 250}.9`;
  const from = (addr: string) => ({
    login: (username: string, password: string, headers: Record<string, string> = {}) =>
      t.http().post('/api/login').set('X-Forwarded-For', addr).set(headers).send({ username, password }),
    register: (username: string, headers: Record<string, string> = {}) =>
      t.http().post('/api/register').set('X-Forwarded-For', addr).set(headers).send({ username, password: DEFAULT_PASSWORD }),
  });
  const newUser = async (): Promise<SignedIn> => {
    const res = await from(ip()).register(`u${n}.${Date.now()}@example.com`).expect(201);
    return sessionFrom(res);
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMITS: '', TRUST_PROXY: 'loopback' } });
    prisma = t.app.get(PrismaService);
  });
  afterAll(() => t.close());

  it('keeps answering 429 past the IP limit whatever credential the attempt carries (pk_ tokens, sessions)', async () => {
    const attacker = await newUser();
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      tokens.push((await t.http().post('/api/profile/tokens').set(attacker.auth).send({ name: `t${i}` }).expect(201)).body.data.token);
    }
    const addr = ip();
    for (let i = 1; i <= 5; i++) {
      const res = await from(addr).login(`guess${i}@example.com`, 'wrong password').expect(401);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(5 - i));
    }
    const credentials = [...tokens.map((tk) => ({ Authorization: `Bearer ${tk}` })), { Cookie: attacker.cookies }, attacker.auth];
    for (const headers of credentials) {
      for (let i = 0; i < 5; i++) {
        const res = await from(addr).login(attacker.user.username, DEFAULT_PASSWORD, headers).expect(429);
        expect(res.body.error.code).toBe('RATE_LIMITED');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        expect(res.headers['x-ratelimit-limit']).toBe('5');
        expect(res.headers['x-ratelimit-remaining']).toBe('0');
      }
    }
    // Registration is keyed the same way.
    const regAddr = ip();
    for (let i = 0; i < 5; i++) await from(regAddr).register(`reg${i}.${Date.now()}@example.com`).expect(201);
    for (const headers of credentials.slice(0, 4)) {
      expect((await from(regAddr).register(`reg.more.${Date.now()}@example.com`, headers).expect(429)).body.error.code).toBe('RATE_LIMITED');
    }
  });

  it("never lets an attacker's failures, from many addresses, keep the owner out from hers", async () => {
    const alice = await newUser();
    for (let a = 0; a < 4; a++) {
      const attacker = from(ip());
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await attacker.login(alice.user.username, `guess ${a}-${i}`)).status);
      // Three free failures, a fourth, then the attacker waits (delay, then the IP limit).
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429]);
    }
    expect(await prisma.user.findUniqueOrThrow({ where: { id: alice.user.id } })).toMatchObject({ lockedUntil: null });
    const own = await from(ip()).login(alice.user.username, DEFAULT_PASSWORD).expect(200);
    expect(own.body.data.user.id).toBe(alice.user.id);
  });

  it('answers unknown and existing usernames alike, during a delay too, and audits the delayed attempts', async () => {
    const bob = await newUser();
    const ghost = `ghost.${Date.now()}@example.com`;
    const run = async (username: string) => {
      const addr = from(ip());
      const answers = [];
      for (let i = 0; i < 5; i++) {
        const res = await addr.login(username, `wrong password ${i}`);
        answers.push({ status: res.status, error: res.body.error, retryAfter: res.headers['retry-after'] !== undefined });
      }
      return answers;
    };
    const existing = await run(bob.user.username);
    const unknown = await run(ghost);
    expect(existing).toEqual(unknown);
    expect(existing.map((a) => a.status)).toEqual([401, 401, 401, 401, 429]);
    expect(existing[0].error).toEqual({ code: 'INVALID_CREDENTIALS', message: 'Invalid username or password' });
    expect(existing[4]).toEqual({
      status: 429,
      error: { code: 'RATE_LIMITED', message: 'Too many failed sign-ins; wait before trying again', details: { retryAfterSeconds: 1 } },
      retryAfter: true,
    });

    const delayed = await prisma.auditLog.findMany({ where: { action: 'auth.login_delayed', target: { in: [bob.user.username, ghost] } } });
    expect(delayed.map((e) => [e.target, e.actorId])).toEqual(expect.arrayContaining([[bob.user.username, bob.user.id], [ghost, null]]));
    expect(delayed).toHaveLength(2);
  });
});

describe('Concurrency caps (e2e)', () => {
  let t: TestApp;
  let port: number;
  const bearer = (who: SignedIn) => ({ authorization: who.auth.Authorization });
  const newThread = async (who: SignedIn) => (await t.http().post('/api/threads').set(who.auth).send({ title: 'T' }).expect(201)).body.data.thread.id as string;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: {
        // About 20 s per demo answer: streams stay open while the test looks.
        DEMO_TOKEN_DELAY_MS: '500',
        MAX_SSE_STREAMS_PER_USER: '3',
        MAX_CONCURRENT_CALLS_PER_TOKEN: '2',
        MAX_CONCURRENT_CALLS_PER_USER: '3',
        RATE_LIMITS: 'register=1000,login=1000,messages.list=1000,messages.send=1000,threads.create=1000,llm=1000,profile.tokens=1000',
      },
    });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  it('caps the SSE streams one user holds open: N open, the N+1th is 429 until one closes', async () => {
    const alice = await registerUser(t);
    const thread = await newThread(alice);
    const base = `/api/threads/${thread}/models/parley-demo/messages`;
    const answer = await open(port, 'POST', base, bearer(alice), { content: 'hello', stream: true });
    expect(answer.status).toBe(200);
    const messageId = await until(answer, /"messageId":"([0-9a-f-]{36})"/);
    const resume = () => open(port, 'GET', `${base}/${messageId}/stream`, bearer(alice));
    const tabs = [await resume(), await resume()];
    expect(tabs.map((s) => s.status)).toEqual([200, 200]);

    // The 4th stream of any kind: another tab, a new answer, a one-shot stream, a load progress stream.
    const refused = [
      await resume(),
      await open(port, 'POST', `/api/threads/${await newThread(alice)}/models/parley-demo/messages`, bearer(alice), { content: 'more', stream: true }),
      await open(port, 'GET', '/api/llm/stream?prompt=hi&model=parley-demo', bearer(alice)),
    ];
    for (const res of refused) {
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 3 } });
    }
    // The refused answer was never started.
    expect(await t.app.get(PrismaService).message.count({ where: { thread: { userId: alice.user.id } } })).toBe(1);

    // Another user is not affected.
    const bob = await registerUser(t);
    const bobs = await open(port, 'GET', '/api/llm/stream?prompt=hi&model=parley-demo', bearer(bob));
    expect(bobs.status).toBe(200);
    bobs.close();

    // A client that goes away gives its slot back.
    tabs[0].close();
    await sleep(100);
    const again = await resume();
    expect(again.status).toBe(200);
    await until(again, /event: /);

    [again, tabs[1], answer].forEach((s) => s.close());
    await t.http().post(`${base}/${messageId}/cancel`).set(alice.auth).expect(200);
  });

  it('caps /v1 calls in progress per personal token and per user', async () => {
    const carol = await registerUser(t);
    const newToken = async () => (await t.http().post('/api/profile/tokens').set(carol.auth).send({ name: 'program' }).expect(201)).body.data.token as string;
    const [a, b, c] = [await newToken(), await newToken(), await newToken()];
    const call = (token: string) =>
      open(port, 'POST', '/v1/chat/completions', { authorization: `Bearer ${token}` }, { model: 'parley-demo', stream: true, messages: [{ role: 'user', content: 'hi' }] });

    const first = [await call(a), await call(a)];
    expect(first.map((s) => s.status)).toEqual([200, 200]);
    const third = await call(a);
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    // OpenAI's error format, so SDKs raise their RateLimitError.
    expect(third.body.error).toMatchObject({ message: expect.stringMatching(/per API token/) });

    // Another token of the same user has its own slots, up to the user's cap (3).
    const other = await call(b);
    expect(other.status).toBe(200);
    const overUser = await call(c);
    expect(overUser.status).toBe(429);
    expect(overUser.body.error.message).toMatch(/per user/);
    // /api/llm shares the user's cap.
    const oneShot = await t.http().post('/api/llm/complete').set(carol.auth).send({ prompt: 'hi', model: 'parley-demo' }).expect(429);
    expect(oneShot.body.error.code).toBe('RATE_LIMITED');

    first[0].close();
    await sleep(100);
    const replaced = await call(a);
    expect(replaced.status).toBe(200);
    [replaced, first[1], other].forEach((s) => s.close());
    // Each call that went through records its usage once it ends; wait for those writes
    // so none is left running when the app (and its database) closes.
    const prisma = t.app.get(PrismaService);
    for (let i = 0; i < 200 && (await prisma.usageRecord.count({ where: { userId: carol.user.id } })) < 4; i++) await sleep(25);
    expect(await prisma.usageRecord.count({ where: { userId: carol.user.id } })).toBe(4);
  });
});

describe('Model loads and audit (e2e)', () => {
  const ollama = new FakeOllama({ models: ['llama3.2:1b'], pullable: ['gemma2:2b'], delayMs: 5 });
  let t: TestApp;
  let prisma: PrismaService;
  let admin: SignedIn;
  let user: SignedIn;

  beforeAll(async () => {
    await ollama.start();
    t = await createTestApp({ env: { OLLAMA_BASE_URL: ollama.url, RATE_LIMITS: 'register=1000,login=1000,models.load=1000,models.status=1000' } });
    prisma = t.app.get(PrismaService);
    const promoted = await registerUser(t);
    await prisma.user.update({ where: { id: promoted.user.id }, data: { role: 'admin' } });
    admin = await login(t, promoted.user.username, DEFAULT_PASSWORD);
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t.close();
    await ollama.stop();
  });

  it("refuses a user's model load (403) and hides load jobs from users; an admin's load works and is audited", async () => {
    const refused = await t.http().post('/api/models/gemma-2b-local/load').set(user.auth).expect(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect(ollama.requests.filter((r) => r.path === '/api/pull')).toHaveLength(0);

    const started = await t.http().post('/api/models/gemma-2b-local/load').set(admin.auth).expect(202);
    const jobId = started.body.data.jobId as string;
    // Knowing the job id is not enough to follow it, nor does the status show it.
    await t.http().get(`/api/models/gemma-2b-local/load/stream?jobId=${jobId}`).set(user.auth).expect(403);
    const status = await t.http().get('/api/models/gemma-2b-local/status').set(user.auth).expect(200);
    expect(status.body.data).toMatchObject({ loadProgress: null, estimatedLoadTime: null, lastLoaded: null });

    const stream = await t.http().get(`/api/models/gemma-2b-local/load/stream?jobId=${jobId}`).set(admin.auth).buffer(true).expect(200);
    expect(stream.text).toMatch(/event: loaded/);

    // This admin's rows only: on PostgreSQL other suites share the audit log.
    const audit = await prisma.auditLog.findMany({ where: { action: 'models.load_requested', target: 'gemma-2b-local', actorId: admin.user.id } });
    expect(audit).toEqual([expect.objectContaining({ actorId: admin.user.id, requestId: started.headers['x-request-id'], metadata: { jobId, joined: false } })]);
  });

  it('lets every user load models with MODEL_LOADS=users', async () => {
    const other = await createTestApp({ env: { OLLAMA_BASE_URL: ollama.url, MODEL_LOADS: 'users' } });
    try {
      const someone = await registerUser(other);
      await other.http().post('/api/models/gemma-2b-local/load').set(someone.auth).expect(202);
    } finally {
      await other.close();
    }
  });

  it('audits role changes with the old and new role', async () => {
    const target = await registerUser(t);
    const res = await t.http().patch(`/api/admin/users/${target.user.id}`).set(admin.auth).send({ role: 'admin' }).expect(200);
    const [entry] = await prisma.auditLog.findMany({ where: { action: 'admin.user_updated', target: target.user.id } });
    expect(entry).toMatchObject({ actorId: admin.user.id, requestId: res.headers['x-request-id'], metadata: { changed: ['role'], role: { from: 'user', to: 'admin' } } });
  });

  it('audits thread deletion with who, where and the request', async () => {
    const thread = (await t.http().post('/api/threads').set(user.auth).send({ title: 'to delete' }).expect(201)).body.data.thread.id;
    const res = await t.http().delete(`/api/threads/${thread}`).set(user.auth).expect(200);
    const entries = await prisma.auditLog.findMany({ where: { action: 'threads.deleted', target: thread } });
    expect(entries).toEqual([
      expect.objectContaining({ actorId: user.user.id, ip: expect.any(String), requestId: res.headers['x-request-id'], metadata: { deletedMessages: 0 } }),
    ]);
  });

  it("audits admins' reads of users, a user, a user's usage and the audit log", async () => {
    const reads = [
      ['/api/admin/users', 'users', null],
      [`/api/admin/users/${user.user.id}`, 'user', user.user.id],
      [`/api/admin/users/${user.user.id}/usage`, 'usage', user.user.id],
      ['/api/admin/audit?action=auth.login', 'audit', null],
    ] as const;
    for (const [url, resource, target] of reads) {
      const res = await t.http().get(url).set(admin.auth).expect(200);
      const entries = await prisma.auditLog.findMany({ where: { action: 'admin.read', requestId: res.headers['x-request-id'] } });
      expect(entries).toEqual([expect.objectContaining({ actorId: admin.user.id, target, metadata: expect.objectContaining({ resource }) })]);
    }
    // A user's read of their own data is not an admin read.
    await t.http().get('/api/profile').set(user.auth).expect(200);
    expect(await prisma.auditLog.count({ where: { action: 'admin.read', actorId: user.user.id } })).toBe(0);
  });
});
