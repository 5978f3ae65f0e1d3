import { AddressInfo } from 'node:net';
import { PrismaService } from '../src/infra/database/prisma.service';
import { MessagesRepository } from '../src/modules/messages/messages.repository';
import { FakeAnthropic, FakeOpenAI } from './fakes';
import { sse } from './support/sse';
import { createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';


describe('Messages (e2e)', () => {
  const openai = new FakeOpenAI();
  const anthropic = new FakeAnthropic();
  let t: TestApp;
  let prisma: PrismaService;
  let port: number;
  let alice: SignedIn;
  let bob: SignedIn;
  let auth: Record<string, string>;

  beforeAll(async () => {
    await Promise.all([openai.start(), anthropic.start()]);
    t = await createTestApp({
      listen: true,
      env: {
        OPENAI_BASE_URL: `${openai.url}/v1`,
        ANTHROPIC_BASE_URL: anthropic.url,
        OPENAI_API_KEY: 'sk-server-openai',
        ANTHROPIC_API_KEY: 'sk-server-anthropic',
        PROVIDER_RETRY_BASE_MS: '5',
        RATE_LIMITS: 'register=1000,threads.create=1000,messages.send=1000,messages.list=1000',
      },
    });
    prisma = t.app.get(PrismaService);
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    alice = await registerUser(t);
    bob = await registerUser(t);
    auth = alice.auth;
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([openai.stop(), anthropic.stop()]);
  });
  beforeEach(() => {
    openai.reset();
    anthropic.reset();
  });

  const newThread = async (who = alice) => (await t.http().post('/api/threads').set(who.auth).send({ title: 'T' }).expect(201)).body.data.thread.id as string;
  const send = (threadId: string, model: string, content: string, extra: object = {}, who?: SignedIn) =>
    t.http().post(`/api/threads/${threadId}/models/${model}/messages`).set(who?.auth ?? auth).send({ content, ...extra });

  it('answers without streaming in seed 001 shape and stores both messages once', async () => {
    const threadId = await newThread();
    const res = await send(threadId, 'gpt-5.5', 'Explain events', { temperature: 0.8 }).expect(200);
    expect(res.body).toMatchObject({ success: true, requestId: expect.any(String) });
    expect(res.body.data).toEqual({
      userMessage: { id: expect.any(String), content: 'Explain events', createdAt: expect.any(String) },
      assistantMessage: { id: expect.any(String), content: 'Hello, world!', tokens: 4, temperature: 0.8, createdAt: expect.any(String) },
    });
    const rows = await prisma.message.findMany({ where: { threadId }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.role, r.status, r.content])).toEqual([
      ['user', 'complete', 'Explain events'],
      ['assistant', 'complete', 'Hello, world!'],
    ]);
    expect(rows[1]).toMatchObject({ promptTokens: 12, completionTokens: 4, finishReason: 'stop', modelId: 'gpt-5.5' });
    expect(Number(rows[1].cost)).toBeCloseTo((12 * 0.0025 + 4 * 0.01) / 1000, 8);
    expect(rows[1].latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("moves its thread to the top of the list: the thread's updatedAt follows its newest message, never backwards", async () => {
    const who = await registerUser(t);
    const older = await newThread(who);
    await newThread(who);
    const before = (await prisma.thread.findUniqueOrThrow({ where: { id: older } })).updatedAt;
    await send(older, 'gpt-5.5', 'Bring me back', {}, who).expect(200);
    const newest = await prisma.message.findFirstOrThrow({ where: { threadId: older }, orderBy: { createdAt: 'desc' } });
    const thread = await prisma.thread.findUniqueOrThrow({ where: { id: older } });
    expect(thread.updatedAt.getTime()).toBe(newest.createdAt.getTime());
    expect(thread.updatedAt.getTime()).toBeGreaterThan(before.getTime());
    const list = await t.http().get('/api/threads').set(who.auth).expect(200);
    expect(list.body.data.threads[0].id).toBe(older);
    // A message written with an older time (a late finalisation) leaves it where it is.
    await prisma.message.create({ data: { threadId: older, modelId: 'gpt-5.5', role: 'assistant', content: 'late', createdAt: new Date('2020-01-01') } });
    expect((await prisma.thread.findUniqueOrThrow({ where: { id: older } })).updatedAt).toEqual(thread.updatedAt);
  });

  it('streams message_start, tokens, message_complete and close with ids and proxy-safe headers', async () => {
    const threadId = await newThread();
    openai.script({ tokens: ['Event', '-driven', ' is', ' great'] });
    const res = await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.5/messages`, auth, { content: 'Why events?', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    expect(res.headers['cache-control']).toMatch(/no-cache/);
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.events.map((e) => e.event)).toEqual(['message_start', 'token', 'token', 'token', 'token', 'message_complete', 'close']);
    // Ids carry the text offset ("Event"=5, "-driven"→12, …), then <length>.1 and <length>.2.
    expect(res.events.map((e) => e.id)).toEqual(['0', '5', '12', '15', '21', '21.1', '21.2']);
    const messageId = res.events[0].data.messageId;
    expect(res.events.filter((e) => e.event === 'token').map((e) => e.data)).toEqual(
      ['Event', '-driven', ' is', ' great'].map((token) => ({ token, messageId })),
    );
    expect(res.events[5].data).toMatchObject({ messageId, totalTokens: 4 });
    const stored = await prisma.message.findUniqueOrThrow({ where: { id: messageId } });
    expect(stored).toMatchObject({ content: 'Event-driven is great', status: 'complete' });
  });

  it("sends each model only its own history, after the user's system prompt", async () => {
    await t.http().patch('/api/profile').set(auth).send({ settings: { systemPrompt: 'You are terse.' } }).expect(200);
    const threadId = await newThread();
    await send(threadId, 'gpt-5.5', 'first for gpt').expect(200);
    await send(threadId, 'claude-sonnet', 'first for claude').expect(200);
    openai.reset();
    await send(threadId, 'gpt-5.5', 'second for gpt').expect(200);
    expect(openai.requests[0].body.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'first for gpt' },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: 'second for gpt' },
    ]);
    expect(JSON.stringify(openai.requests[0].body)).not.toContain('claude');
    await t.http().patch('/api/profile').set(auth).send({ settings: { systemPrompt: '' } }).expect(200);
  });

  it('keeps the context within the model window by dropping the oldest messages', async () => {
    const threadId = await newThread();
    // gpt-5.5 has a 400k window: fill the history with far more than fits.
    const big = 'word '.repeat(60_000);
    await prisma.message.createMany({
      data: Array.from({ length: 12 }, (_, i) => ({
        threadId,
        modelId: 'gpt-5.5',
        role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
        content: `#${i} ${big}`,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      })),
    });
    await send(threadId, 'gpt-5.5', 'latest question').expect(200);
    const sent = openai.requests[0].body.messages as Array<{ content: string }>;
    expect(sent.at(-1)!.content).toBe('latest question');
    expect(sent.length).toBeLessThan(13);
    expect(sent.length).toBeGreaterThan(2);
    expect(sent[0].content.startsWith('#0 ')).toBe(false); // the oldest went first
    expect(sent.at(-2)!.content.startsWith('#11 ')).toBe(true); // the newest stayed
  });

  it('stores an upstream cut as an error row with the partial text, and tells the client', async () => {
    const threadId = await newThread();
    openai.script({ tokens: ['One', ' two', ' three', ' four'], cutAfter: 2 });
    const res = await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.5/messages`, auth, { content: 'cut me', stream: true });
    expect(res.events.map((e) => e.event)).toEqual(['message_start', 'token', 'token', 'error', 'close']);
    expect(res.events[3].data).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    const row = await prisma.message.findUniqueOrThrow({ where: { id: res.events[0].data.messageId } });
    expect(row).toMatchObject({ status: 'error', errorCode: 'PROVIDER_UNAVAILABLE', content: 'One two' });
    expect(await prisma.message.count({ where: { threadId } })).toBe(2);
  });

  it('reports a non-streaming failure with its code after storing the error row', async () => {
    const threadId = await newThread();
    openai.script({ failWith: { status: 401 } });
    expectError(await send(threadId, 'gpt-5.5', 'bad key'), 422, 'PROVIDER_AUTH_FAILED');
    const rows = await prisma.message.findMany({ where: { threadId } });
    expect(rows.map((r) => [r.role, r.status])).toEqual(expect.arrayContaining([['user', 'complete'], ['assistant', 'error']]));
  });

  it('cancels on request: upstream aborted, row stored as cancelled with the partial text', async () => {
    const threadId = await newThread();
    openai.script({ tokens: Array.from({ length: 50 }, (_, i) => ` t${i}`), delayMs: 40 });
    let messageId = '';
    const res = await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.5/messages`, auth, { content: 'long one', stream: true }, (e, all) => {
      if (e.event === 'message_start') messageId = e.data.messageId;
      if (e.event === 'token' && all.filter((x) => x.event === 'token').length === 3) {
        t.http()
          .post(`/api/threads/${threadId}/models/gpt-5.5/messages/${messageId}/cancel`)
          .set(auth)
          .end((_error, res) => expect(res.status).toBe(200));
      }
    });
    expect(res.events.at(-2)).toMatchObject({ event: 'error', data: { code: 'CANCELLED' } });
    await openai.waitForAbort(2000);
    const row = await prisma.message.findUniqueOrThrow({ where: { id: messageId } });
    expect(row.status).toBe('cancelled');
    expect(row.content.startsWith(' t0 t1 t2')).toBe(true);
    expect(row.content.length).toBeLessThan(50 * 4);
  });

  it('refuses a second send to the same thread and model while one is generating (409)', async () => {
    const threadId = await newThread();
    openai.script({ delayMs: 100 });
    let second: Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> | undefined;
    let otherModel: Promise<unknown> | undefined;
    // Once the first answer has started, a second send to the same model is refused.
    await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.5/messages`, auth, { content: 'slow', stream: true }, (e) => {
      if (e.event !== 'message_start') return;
      second = send(threadId, 'gpt-5.5', 'again').then((res) => res);
      otherModel = send(threadId, 'claude-sonnet', 'another model is fine').expect(200).then((res) => res);
    });
    expectError(await second!, 409, 'GENERATION_IN_PROGRESS');
    await otherModel;
  });

  it('resumes from Last-Event-ID on a second connection: every token once, in order', async () => {
    const threadId = await newThread();
    const tokens = Array.from({ length: 20 }, (_, i) => ` w${i}`);
    openai.script({ tokens, delayMs: 25 });
    let messageId = '';
    let lastId = '';
    // The first connection drops after five tokens...
    await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.5/messages`, auth, { content: 'resume me', stream: true }, (e, all) => {
      if (e.event === 'message_start') messageId = e.data.messageId;
      lastId = e.id!;
      return all.filter((x) => x.event === 'token').length === 5;
    });
    const firstPart = tokens.slice(0, 5);
    // ...and another device picks up where it left off.
    const rest = await sse(port, 'GET', `/api/threads/${threadId}/models/gpt-5.5/messages/${messageId}/stream`, { ...auth, 'Last-Event-ID': lastId });
    expect(rest.headers['content-type']).toMatch(/text\/event-stream/);
    expect(rest.headers['x-accel-buffering']).toBe('no');
    const resumed = rest.events.filter((e) => e.event === 'token').map((e) => e.data.token);
    expect([...firstPart, ...resumed]).toEqual(tokens);
    expect(rest.events.at(-1)!.event).toBe('close');
    // The disconnect did not lose the answer.
    const row = await prisma.message.findUniqueOrThrow({ where: { id: messageId } });
    expect(row).toMatchObject({ status: 'complete', content: tokens.join('') });
    // After completion, a reconnect from the start replays the whole answer.
    const replay = await sse(port, 'GET', `/api/threads/${threadId}/models/gpt-5.5/messages/${messageId}/stream`, auth);
    expect(replay.events.filter((e) => e.event === 'token').map((e) => e.data.token).join('')).toBe(tokens.join(''));
    expect(replay.events.slice(-2).map((e) => e.event)).toEqual(['message_complete', 'close']);
  });

  it('writes to the database the same number of times for 3 tokens as for 300 (no per-token writes)', async () => {
    const repository = t.app.get(MessagesRepository);
    const writes: number[] = [];
    for (const n of [3, 300]) {
      const threadId = await newThread();
      openai.script({ tokens: Array.from({ length: n }, (_, i) => ` x${i}`) });
      const inserts = jest.spyOn(repository, 'insert');
      const transactions = jest.spyOn(prisma, '$transaction');
      const res = await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.5/messages`, auth, { content: 'count writes', stream: true });
      expect(res.events.filter((e) => e.event === 'token')).toHaveLength(n);
      writes.push(inserts.mock.calls.length + transactions.mock.calls.length);
      expect(inserts).toHaveBeenCalledTimes(2); // the user message at the start, the answer at the end
      inserts.mockRestore();
      transactions.mockRestore();
      expect(await prisma.message.count({ where: { threadId } })).toBe(2);
    }
    expect(writes[0]).toBe(writes[1]);
  });

  it('lists messages per model with pagination, owner-only', async () => {
    const threadId = await newThread();
    await send(threadId, 'gpt-5.5', 'one').expect(200);
    await send(threadId, 'gpt-5.5', 'two').expect(200);
    await send(threadId, 'claude-sonnet', 'other model').expect(200);
    const page1 = await t.http().get(`/api/threads/${threadId}/models/gpt-5.5/messages?limit=3`).set(auth).expect(200);
    expect(page1.body.data.messages).toHaveLength(3);
    expect(page1.body.pagination).toMatchObject({ limit: 3, hasMore: true });
    const page2 = await t.http().get(`/api/threads/${threadId}/models/gpt-5.5/messages?limit=3&cursor=${page1.body.pagination.cursor}`).set(auth).expect(200);
    const all = [...page1.body.data.messages, ...page2.body.data.messages];
    expect(all.map((m: { content: string }) => m.content)).toEqual(['Hello, world!', 'two', 'Hello, world!', 'one']);
    expect(all.every((m: { modelId: string }) => m.modelId === 'gpt-5.5')).toBe(true);
    expect(page1.body.data.messages[0]).toMatchObject({ role: 'assistant', status: 'complete', temperature: expect.any(Number), threadId });

    const thread = await t.http().get('/api/threads?limit=100').set(auth).expect(200);
    expect(thread.body.data.threads.find((x: { id: string }) => x.id === threadId)).toMatchObject({
      messageCount: 6,
      activeModels: ['claude-sonnet', 'gpt-5.5'],
      lastMessage: { role: 'assistant', model: 'claude-sonnet' },
    });

    for (const path of [
      `/api/threads/${threadId}/models/gpt-5.5/messages`,
      `/api/threads/${threadId}/models/gpt-5.5/messages/${page1.body.data.messages[0].id}/stream`,
    ]) {
      expectError(await t.http().get(path).set(bob.auth), 404, 'NOT_FOUND');
    }
    expectError(await t.http().post(`/api/threads/${threadId}/models/gpt-5.5/messages`).set(bob.auth).send({ content: 'hi' }), 404, 'NOT_FOUND');
    expectError(
      await t.http().post(`/api/threads/${threadId}/models/gpt-5.5/messages/${page1.body.data.messages[0].id}/cancel`).set(bob.auth),
      404,
      'NOT_FOUND',
    );
    expect(await prisma.message.count({ where: { threadId } })).toBe(6);
  });

  it.each([
    [{ content: '' }],
    [{ content: 5 }],
    [{ content: 'x', temperature: 3 }],
    [{ content: 'x', stream: 'yes' }],
    [{ content: 'x', extra: true }],
    [{}],
  ])('rejects body %j with VALIDATION_ERROR', async (body) => {
    const threadId = await newThread();
    expectError(await t.http().post(`/api/threads/${threadId}/models/gpt-5.5/messages`).set(auth).send(body), 400, 'VALIDATION_ERROR');
    expect(await prisma.message.count({ where: { threadId } })).toBe(0);
  });

  it('rejects a temperature outside the model range, unknown models, bad ids and cursors', async () => {
    const threadId = await newThread();
    expectError(await send(threadId, 'claude-sonnet', 'hot', { temperature: 1.5 }), 400, 'VALIDATION_ERROR');
    expectError(await send(threadId, 'no-such-model', 'hi'), 404, 'MODEL_NOT_FOUND');
    expectError(await t.http().get('/api/threads/nope/models/gpt-5.5/messages').set(auth), 400, 'VALIDATION_ERROR');
    expectError(await t.http().get(`/api/threads/${threadId}/models/gpt-5.5/messages?cursor=zzz`).set(auth), 400, 'VALIDATION_ERROR');
    expectError(await t.http().get(`/api/threads/${threadId}/models/gpt-5.5/messages?limit=201`).set(auth), 400, 'VALIDATION_ERROR');
    expect(await prisma.message.count({ where: { threadId } })).toBe(0);
  });

  it('needs a key for keyed models when the server has none', async () => {
    const plain = await createTestApp({ env: { RATE_LIMITS: 'register=1000' } });
    try {
      const u = await registerUser(plain);
      const threadId = (await plain.http().post('/api/threads').set(u.auth).send({}).expect(201)).body.data.thread.id;
      expectError(await plain.http().post(`/api/threads/${threadId}/models/gpt-5.5/messages`).set(u.auth).send({ content: 'hi' }), 422, 'API_KEY_REQUIRED');
      // The offline demo model needs none.
      const demo = await plain.http().post(`/api/threads/${threadId}/models/parley-demo/messages`).set(u.auth).send({ content: 'hi' }).expect(200);
      expect(demo.body.data.assistantMessage.content).toContain('offline demo model');
    } finally {
      await plain.close();
    }
  });
});
