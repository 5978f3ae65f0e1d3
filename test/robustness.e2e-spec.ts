import { AddressInfo } from 'node:net';
import { Prisma } from '../src/infra/database/generated/client';
import { MessagesRepository } from '../src/modules/messages/messages.repository';
import { sse } from './support/sse';
import { createTestApp, registerUser, SignedIn, TestApp } from './support/test-app';

/** A field-naming 400, in Parley's envelope. */
function expectFieldRejected(res: { status: number; body: any }, field: string): void {
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('VALIDATION_ERROR');
  expect(Object.keys(res.body.error.details?.fields ?? {})).toContain(field);
}

/** Process-wide unhandled rejections while `work` runs (the generation path must cause none). */
async function unhandledRejectionsDuring(work: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await work();
    // Give a stray rejection the turns it needs to surface.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

describe('Robustness: hostile input and faults never take the service down (e2e)', () => {
  let t: TestApp;
  let port: number;
  let alice: SignedIn;
  let bob: SignedIn;
  const newThread = async (who: SignedIn) => (await t.http().post('/api/threads').set(who.auth).send({ title: 'T' }).expect(201)).body.data.thread.id as string;
  const send = (who: SignedIn, threadId: string, content: string, onEvent?: Parameters<typeof sse>[5]) =>
    sse(port, 'POST', `/api/threads/${threadId}/models/parley-demo/messages`, { cookie: who.cookies }, { content, stream: true }, onEvent);

  beforeAll(async () => {
    // The demo model streams at a human pace, so answers are in flight long enough to interfere with.
    t = await createTestApp({ listen: true, env: { DEMO_TOKEN_DELAY_MS: '15', RATE_LIMITS: 'login=1000,register=1000,refresh=1000,messages.send=1000' } });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    [alice, bob] = [await registerUser(t), await registerUser(t)];
  });
  afterAll(() => t.close());

  describe('a 100,000-character message without a space', () => {
    it('leaves liveness answering while it is sent, and the thread answers the next message normally', async () => {
      const threadId = await newThread(alice);
      const order: string[] = [];
      const answer = send(alice, threadId, 'x'.repeat(100_000)).then((res) => {
        order.push('answer complete');
        return res;
      });
      const live = await t.http().get('/api/health/live');
      order.push(`live ${live.status}`);
      const { status, events } = await answer;
      expect(status).toBe(200);
      expect(events.map((e) => e.event)).toContain('message_complete');
      expect(order).toEqual(['live 200', 'answer complete']);

      const next = await send(alice, threadId, 'ok?');
      expect(next.events.map((e) => e.event)).toEqual(expect.arrayContaining(['message_start', 'message_complete', 'close']));
      const stored = await t.http().get(`/api/threads/${threadId}/models/parley-demo/messages`).set(alice.auth).expect(200);
      expect(stored.body.data.messages.map((m: { role: string; status: string }) => `${m.role}:${m.status}`)).toEqual([
        'assistant:complete',
        'user:complete',
        'assistant:complete',
        'user:complete',
      ]);
      // Counted once when stored, whatever its shape: 8 characters a token, as the tokenizer gives.
      expect(stored.body.data.messages[3].tokens).toBe(12_500);
    });
  });

  describe('text no field may carry, and deep nesting', () => {
    let threadId: string;
    let pk: string;
    beforeAll(async () => {
      threadId = await newThread(alice);
      pk = (await t.http().post('/api/profile/tokens').set(alice.auth).send({ name: 'robustness' }).expect(201)).body.data.token;
    });

    const unsafe = { NUL: 'a\u0000b', 'a lone high surrogate': 'a\ud800b', 'a lone low surrogate': 'a\udfffb' };

    describe.each(Object.entries(unsafe))('%s', (_name, bad) => {
      it('is refused with 400 naming the field on register, login, profile, threads, messages and /api/llm', async () => {
        expectFieldRejected(await t.http().post('/api/register').send({ username: `x${bad}@example.com`, password: 'correct horse battery' }), 'username');
        expectFieldRejected(await t.http().post('/api/register').send({ username: 'new@example.com', password: `correct horse ${bad}` }), 'password');
        expectFieldRejected(await t.http().post('/api/login').send({ username: alice.user.username, password: bad }), 'password');
        expectFieldRejected(await t.http().patch('/api/profile').set(alice.auth).send({ displayName: bad }), 'displayName');
        expectFieldRejected(await t.http().patch('/api/profile').set(alice.auth).send({ settings: { systemPrompt: bad } }), 'settings.systemPrompt');
        expectFieldRejected(await t.http().post('/api/threads').set(alice.auth).send({ title: bad }), 'title');
        expectFieldRejected(await t.http().post(`/api/threads/${threadId}/models/parley-demo/messages`).set(alice.auth).send({ content: bad }), 'content');
        expectFieldRejected(await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: bad, model: 'parley-demo' }), 'prompt');
      });

      it('is refused on /v1 in OpenAI’s error format, naming the parameter', async () => {
        const res = await t
          .http()
          .post('/v1/chat/completions')
          .set({ Authorization: `Bearer ${pk}` })
          .send({ model: 'parley-demo', messages: [{ role: 'user', content: bad }] });
        expect(res.status).toBe(400);
        expect(res.body.error).toEqual(expect.objectContaining({ type: 'invalid_request_error', param: 'messages.0.content' }));
      });
    });

    it('NUL in a query parameter is refused naming it (a lone surrogate cannot travel in a URL: invalid UTF-8 arrives as U+FFFD)', async () => {
      expectFieldRejected(await t.http().get('/api/threads?q=a%00b').set(alice.auth), 'q');
      expectFieldRejected(await t.http().get('/api/llm/stream?model=parley-demo&prompt=a%00b').set(alice.auth), 'prompt');
      await t.http().get('/api/threads?q=%ED%A0%80').set(alice.auth).expect(200);
    });

    it('a body nested 10,000 deep is refused with 400 before it is parsed, on /api and on /v1', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      const api = await t.http().post('/api/threads').set(alice.auth).set('content-type', 'application/json').send(`{"title":${deep}}`);
      expect(api.status).toBe(400);
      expectFieldRejected(api, 'body');
      const v1 = await t.http().post('/v1/chat/completions').set({ Authorization: `Bearer ${pk}` }).set('content-type', 'application/json').send(deep);
      expect(v1.status).toBe(400);
      expect(v1.body.error.type).toBe('invalid_request_error');
      // Nesting a real request needs is fine.
      await t.http().post('/api/threads').set(alice.auth).send({ title: 'fine' }).expect(201);
    });
  });

  describe('generations', () => {
    it('a thread deleted mid-answer stops that answer; the process lives and another user’s concurrent answer completes and is stored', async () => {
      const [aliceThread, bobThread] = [await newThread(alice), await newThread(bob)];
      const rejections = await unhandledRejectionsDuring(async () => {
        const bobAnswer = send(bob, bobThread, 'hello from bob');
        let deleted: Promise<unknown> | undefined;
        const aliceAnswer = send(alice, aliceThread, 'hello from alice', (e) => {
          if (e.event === 'token' && !deleted) deleted = t.http().delete(`/api/threads/${aliceThread}`).set(alice.auth).expect(200).then((r) => r);
        });
        const [alices, bobs] = await Promise.all([aliceAnswer, bobAnswer]);
        const deletion = (await deleted) as { body: { data: { deletedMessages: number } } };
        // Alice's answer ends with a terminal event, and nothing is written after the delete.
        expect(alices.events.map((e) => e.event).slice(-2)).toEqual(['error', 'close']);
        expect(deletion.body.data.deletedMessages).toBe(2);
        await t.http().get(`/api/threads/${aliceThread}`).set(alice.auth).expect(404);
        expect(bobs.events.map((e) => e.event).slice(-2)).toEqual(['message_complete', 'close']);
      });
      expect(rejections).toEqual([]);
      const stored = await t.http().get(`/api/threads/${bobThread}/models/parley-demo/messages`).set(bob.auth).expect(200);
      expect(stored.body.data.messages.map((m: { role: string; status: string }) => `${m.role}:${m.status}`)).toEqual(['assistant:complete', 'user:complete']);
      await t.http().get('/api/health/live').expect(200);
    });

    describe('when the final write fails', () => {
      afterEach(() => jest.restoreAllMocks());
      const unreachable = () => new Prisma.PrismaClientKnownRequestError("Can't reach database server", { code: 'P1001', clientVersion: '7' });

      it('retries a database blip and stores the answer once', async () => {
        const repository = t.app.get(MessagesRepository);
        const insertAnswer = repository.insertAnswer.bind(repository);
        const spy = jest
          .spyOn(repository, 'insertAnswer')
          .mockRejectedValueOnce(unreachable())
          .mockRejectedValueOnce(unreachable())
          .mockImplementation(insertAnswer);
        const threadId = await newThread(alice);
        const rejections = await unhandledRejectionsDuring(async () => {
          const { events } = await send(alice, threadId, 'still there?');
          expect(events.map((e) => e.event).slice(-2)).toEqual(['message_complete', 'close']);
        });
        expect(rejections).toEqual([]);
        expect(spy).toHaveBeenCalledTimes(3);
        const stored = await t.http().get(`/api/threads/${threadId}/models/parley-demo/messages`).set(alice.auth).expect(200);
        expect(stored.body.data.messages.map((m: { role: string }) => m.role)).toEqual(['assistant', 'user']);
      });

      it('gives readers an error event when it cannot be stored, and frees the thread for the next message', async () => {
        jest.spyOn(t.app.get(MessagesRepository), 'insertAnswer').mockRejectedValueOnce(new Error('insert or update violates a constraint'));
        const threadId = await newThread(alice);
        const rejections = await unhandledRejectionsDuring(async () => {
          const { events } = await send(alice, threadId, 'will this be stored?');
          expect(events.map((e) => e.event).slice(-2)).toEqual(['error', 'close']);
          expect(events.at(-2)!.data).toEqual(expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', message: 'The answer could not be stored' }));
        });
        expect(rejections).toEqual([]);
        const next = await send(alice, threadId, 'and now?');
        expect(next.events.map((e) => e.event).slice(-2)).toEqual(['message_complete', 'close']);
      });
    });
  });
});
