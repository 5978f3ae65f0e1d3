import { randomUUID } from 'node:crypto';
import { IncomingMessage, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { encodeCursor } from '../src/common/http/cursor';
import { PrismaService } from '../src/infra/database/prisma.service';
import { parseSse } from './support/sse';
import { createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';

describe('Threads (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let alice: SignedIn;
  let bob: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({ listen: true, env: { RATE_LIMITS: 'register=1000,threads.create=1000,threads.delete=1000' } });
    prisma = t.app.get(PrismaService);
    alice = await registerUser(t);
    bob = await registerUser(t);
  });
  afterAll(() => t.close());

  const create = async (who: SignedIn, title?: string) =>
    (await t.http().post('/api/threads').set(who.auth).send(title === undefined ? {} : { title }).expect(201)).body.data.thread;

  it('creates a thread in seed 001 shape, with a default title when none is given', async () => {
    const thread = await create(alice, 'New Discussion Topic');
    expect(thread).toEqual({
      id: expect.any(String),
      title: 'New Discussion Topic',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      messageCount: 0,
      activeModels: [],
      lastMessage: null,
      summary: null,
    });
    expect((await create(alice)).title).toBe('New conversation');
  });

  it('shows per-model counts, last message and summaries', async () => {
    const thread = await create(alice, 'Per model');
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    await prisma.message.createMany({
      data: [
        { threadId: thread.id, modelId: 'gpt-4o', role: 'user', content: 'hi gpt', createdAt: at(1) },
        { threadId: thread.id, modelId: 'gpt-4o', role: 'assistant', content: 'hello from gpt', createdAt: at(2) },
        { threadId: thread.id, modelId: 'claude-opus', role: 'user', content: 'hi claude', createdAt: at(3) },
      ],
    });
    await prisma.threadModelContext.create({ data: { threadId: thread.id, modelId: 'gpt-4o', summary: 'Greetings.', summaryUpdatedAt: at(4) } });
    const res = await t.http().get(`/api/threads/${thread.id}`).set(alice.auth).expect(200);
    expect(res.body.data.thread).toMatchObject({
      id: thread.id,
      messageCount: 3,
      models: {
        'gpt-4o': { messageCount: 2, lastMessageAt: at(2).toISOString(), summary: 'Greetings.', summaryUpdatedAt: at(4).toISOString() },
        'claude-opus': { messageCount: 1, lastMessageAt: at(3).toISOString(), summary: null, summaryUpdatedAt: null },
      },
    });
    const list = await t.http().get('/api/threads?limit=100').set(alice.auth).expect(200);
    expect(list.body.data.threads.find((x: { id: string }) => x.id === thread.id)).toMatchObject({
      messageCount: 3,
      activeModels: ['claude-opus', 'gpt-4o'],
      lastMessage: { content: 'hi claude', role: 'user', model: 'claude-opus', timestamp: at(3).toISOString() },
    });
  });

  it('pages with a stable keyset cursor, ties included, in both orders', async () => {
    const carol = await registerUser(t);
    const { id: userId } = carol.user;
    const tie = new Date('2026-02-01T00:00:00.000Z');
    // Twelve threads, five of them with exactly the same timestamps.
    await prisma.thread.createMany({
      data: Array.from({ length: 12 }, (_, i) => ({
        userId,
        title: `Thread ${i}`,
        createdAt: i < 5 ? tie : new Date(tie.getTime() + i * 1000),
        updatedAt: i < 5 ? tie : new Date(tie.getTime() + i * 1000),
      })),
    });
    for (const order of ['desc', 'asc']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: any } = await t
          .http()
          .get(`/api/threads?limit=5&order=${order}&orderBy=created_at${cursor ? `&cursor=${cursor}` : ''}`)
          .set(carol.auth)
          .expect(200);
        expect(res.body.pagination).toMatchObject({ limit: 5, totalCount: pages === 0 ? 12 : 13 });
        seen.push(...res.body.data.threads.map((x: { id: string }) => x.id));
        cursor = res.body.pagination.cursor;
        expect(res.body.pagination.hasMore).toBe(cursor !== null);
        // A thread created mid-way must not shift the pages already handed out.
        if (pages++ === 0) await prisma.thread.create({ data: { userId, title: 'late', createdAt: new Date('2020-01-01'), updatedAt: new Date('2020-01-01') } });
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBeGreaterThanOrEqual(12);
      await prisma.thread.deleteMany({ where: { userId, title: 'late' } });
    }
  });

  it('searches titles, summaries and message content, ranked, and tolerates typos in titles', async () => {
    const dave = await registerUser(t);
    const a = await create(dave, 'System Architecture Discussion');
    const b = await create(dave, 'Weekend plans');
    const c = await create(dave, 'Cooking');
    await prisma.thread.update({ where: { id: b.id }, data: { summary: 'Talked about microservice architectures' } });
    await prisma.message.create({ data: { threadId: c.id, modelId: 'gpt-4o', role: 'assistant', content: 'Event-driven architecture helps decoupling' } });
    await create(dave, 'Unrelated');

    const ids = async (q: string) =>
      (await t.http().get(`/api/threads?q=${encodeURIComponent(q)}`).set(dave.auth).expect(200)).body.data.threads.map((x: { id: string }) => x.id);
    const found = await ids('architecture');
    expect(new Set(found)).toEqual(new Set([a.id, b.id, c.id]));
    expect(found[0]).toBe(a.id); // the title match ranks first
    expect(await ids('weekend')).toEqual([b.id]);
    expect(await ids('Archtecture Discusion')).toContain(a.id); // typos
    expect(await ids('decoupling')).toEqual([c.id]);
    // Other users' threads never match.
    expect((await t.http().get('/api/threads?q=architecture').set(alice.auth).expect(200)).body.data.threads).toEqual([]);
    // Search pages too.
    const first = await t.http().get('/api/threads?q=architecture&limit=1').set(dave.auth).expect(200);
    expect(first.body.pagination).toMatchObject({ hasMore: true, totalCount: 3 });
    const second = await t.http().get(`/api/threads?q=architecture&limit=1&cursor=${first.body.pagination.cursor}`).set(dave.auth).expect(200);
    expect(second.body.data.threads[0].id).not.toBe(first.body.data.threads[0].id);
  });

  it('renames and deletes (with messages, in one go), returning seed 001 shapes', async () => {
    const thread = await create(alice, 'Old');
    const renamed = await t.http().patch(`/api/threads/${thread.id}/title`).set(alice.auth).send({ title: 'Updated Thread Title' }).expect(200);
    expect(renamed.body.data.thread).toEqual({ id: thread.id, title: 'Updated Thread Title', updatedAt: expect.any(String) });
    await prisma.message.createMany({
      data: [1, 2].map((i) => ({ threadId: thread.id, modelId: 'gpt-4o', role: 'user' as const, content: `m${i}` })),
    });
    const deleted = await t.http().delete(`/api/threads/${thread.id}`).set(alice.auth).expect(200);
    expect(deleted.body.data).toEqual({ deletedThread: thread.id, deletedMessages: 2 });
    expect(await prisma.message.count({ where: { threadId: thread.id } })).toBe(0);
    await t.http().get(`/api/threads/${thread.id}`).set(alice.auth).expect(404);
  });

  it("answers another user's thread exactly like a missing one", async () => {
    const thread = await create(alice, 'Private');
    for (const [method, path, body] of [
      ['get', `/api/threads/${thread.id}`, undefined],
      ['patch', `/api/threads/${thread.id}/title`, { title: 'x' }],
      ['get', `/api/threads/${thread.id}/events`, undefined],
      ['delete', `/api/threads/${thread.id}`, undefined],
    ] as const) {
      const theirs = await t.http()[method](path).set(bob.auth).send(body);
      const missing = await t.http()[method](path.replace(thread.id, randomUUID())).set(bob.auth).send(body);
      expectError(theirs, 404, 'NOT_FOUND');
      expect(theirs.body.error).toEqual(missing.body.error);
    }
    expect((await t.http().get('/api/threads').set(bob.auth).expect(200)).body.data.threads.map((x: { id: string }) => x.id)).not.toContain(thread.id);
  });

  it('follows its own thread: the events stream announces an answer starting and ending, and a rename', async () => {
    const thread = await create(alice, 'Followed');
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const events: Array<{ event: string; data: Record<string, unknown> }> = [];
    const follower = request({ host: '127.0.0.1', port, path: `/api/threads/${thread.id}/events`, headers: alice.auth });
    const opened = new Promise<IncomingMessage>((resolve) => follower.on('response', resolve));
    follower.end();
    const res = await opened;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.lastIndexOf('\n\n');
      if (end < 0) return;
      events.push(...parseSse(buffer.slice(0, end + 2)).map((e) => ({ event: e.event, data: e.data as Record<string, unknown> })));
      buffer = buffer.slice(end + 2);
    });
    await t.http().post(`/api/threads/${thread.id}/models/parley-demo/messages`).set(alice.auth).send({ content: 'hello' }).expect(200);
    await t.http().patch(`/api/threads/${thread.id}/title`).set(alice.auth).send({ title: 'Renamed' }).expect(200);
    for (let i = 0; i < 100 && !events.some((e) => e.event === 'thread_updated' && e.data.title === 'Renamed'); i++) await new Promise((r) => setTimeout(r, 20));
    follower.destroy();
    const messageId = events.find((e) => e.event === 'message_start')?.data.messageId;
    expect(events.filter((e) => e.event !== 'thread_updated' || e.data.title === 'Renamed')).toEqual([
      { event: 'message_start', data: { threadId: thread.id, messageId, modelId: 'parley-demo', userMessageId: expect.any(String) } },
      { event: 'message_complete', data: { threadId: thread.id, messageId, modelId: 'parley-demo', status: 'complete' } },
      { event: 'thread_updated', data: { threadId: thread.id, title: 'Renamed' } },
    ]);
  });

  it.each([
    ['/api/threads?limit=0'],
    ['/api/threads?limit=101'],
    ['/api/threads?orderBy=title'],
    ['/api/threads?order=sideways'],
    ['/api/threads?cursor=not-a-cursor'],
    [`/api/threads?cursor=${encodeCursor({ v: 'yesterday', id: randomUUID() })}`],
    [`/api/threads?cursor=${Buffer.from('{"v":"2026-01-01T00:00:00Z","id":"1 OR 1=1"}').toString('base64url')}`],
    [`/api/threads?q=x&cursor=${encodeCursor({ v: '2026-01-01T00:00:00.000Z', id: randomUUID() })}`],
    ['/api/threads/not-a-uuid'],
  ])('answers %s with a 400 VALIDATION_ERROR', async (path) => {
    expectError(await t.http().get(path).set(alice.auth), 400, 'VALIDATION_ERROR');
  });

  it('rejects bad bodies', async () => {
    expectError(await t.http().post('/api/threads').set(alice.auth).send({ title: '' }), 400, 'VALIDATION_ERROR');
    expectError(await t.http().post('/api/threads').set(alice.auth).send({ title: 'x'.repeat(201) }), 400, 'VALIDATION_ERROR');
    expectError(await t.http().post('/api/threads').set(alice.auth).send({ title: null }), 400, 'VALIDATION_ERROR');
    expectError(await t.http().post('/api/threads').set(alice.auth).send({ title: 'ok', extra: 1 }), 400, 'VALIDATION_ERROR');
    const thread = await create(alice, 'x');
    expectError(await t.http().patch(`/api/threads/${thread.id}/title`).set(alice.auth).send({}), 400, 'VALIDATION_ERROR');
    await t.http().get('/api/threads').expect(401);
  });
});
