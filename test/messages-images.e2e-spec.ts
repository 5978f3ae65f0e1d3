import { AddressInfo } from 'node:net';
import request from 'supertest';
import { PrismaService } from '../src/infra/database/prisma.service';
import { IMAGE_TOKENS } from '../src/modules/messages/context-builder';
import { FakeOpenAI } from './fakes';
import { upstreamEnv, useFakeUpstreams } from './support/gateway-clients';
import { sse } from './support/sse';
import { createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';

/** A real 1x1 PNG. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PNG_URL = `data:image/png;base64,${PNG_BASE64}`;

const openai = new FakeOpenAI();
useFakeUpstreams(openai);

/**
 * Images in thread messages (vision): validated and stored with the user message, sent to
 * the model in its provider's format (again with every later message while they fit the
 * context), listed with the message; refused with a 400 naming `images` otherwise.
 */
describe('Messages with images (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let port: number;
  let alice: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: {
        ...upstreamEnv({ openai }),
        PROVIDER_RETRY_BASE_MS: '5',
        RATE_LIMITS: 'register=1000,threads.create=1000,messages.send=1000,messages.list=1000',
      },
    });
    prisma = t.app.get(PrismaService);
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    alice = await registerUser(t);
  });
  afterAll(() => t.close());

  const newThread = async () => (await t.http().post('/api/threads').set(alice.auth).send({ title: 'Pictures' }).expect(201)).body.data.thread.id as string;
  const send = (threadId: string, model: string, body: object) => t.http().post(`/api/threads/${threadId}/models/${model}/messages`).set(alice.auth).send(body);
  const lastUserTurn = () => (openai.requests.at(-1)!.body.messages as Array<{ role: string; content: unknown }>).at(-1);

  it('sends an image to a vision model as an OpenAI image_url part, stores it and lists it with the message', async () => {
    const threadId = await newThread();
    const res = await send(threadId, 'gpt-5.4-mini', { content: 'What is in this picture?', images: [{ url: PNG_URL }] }).expect(200);
    expect(res.body.data.userMessage).toEqual({
      id: expect.any(String),
      content: 'What is in this picture?',
      images: [{ mediaType: 'image/png', url: PNG_URL }],
      createdAt: expect.any(String),
    });
    expect(res.body.data.assistantMessage).not.toHaveProperty('images');
    expect(lastUserTurn()).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture?' },
        { type: 'image_url', image_url: { url: PNG_URL } },
      ],
    });

    const list = await t.http().get(`/api/threads/${threadId}/models/gpt-5.4-mini/messages?order=asc`).set(alice.auth).expect(200);
    const [user, assistant] = list.body.data.messages;
    expect(user).toMatchObject({ role: 'user', content: 'What is in this picture?', images: [{ mediaType: 'image/png', url: PNG_URL }] });
    expect(assistant.role).toBe('assistant');
    expect(assistant).not.toHaveProperty('images');
    // The image's context cost is part of the stored count.
    expect(user.tokens).toBeGreaterThan(IMAGE_TOKENS);
    const row = await prisma.message.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.images).toEqual([{ mediaType: 'image/png', data: PNG_BASE64 }]);
  });

  it('sends the earlier image again with a follow-up message in the same conversation', async () => {
    const threadId = await newThread();
    await send(threadId, 'gpt-5.4-mini', { content: 'Look at this', images: [{ url: PNG_URL }] }).expect(200);
    const res = await send(threadId, 'gpt-5.4-mini', { content: 'And what colour was it?' }).expect(200);
    expect(res.body.data.userMessage).not.toHaveProperty('images');
    expect(openai.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Look at this' }, { type: 'image_url', image_url: { url: PNG_URL } }] },
      { role: 'assistant', content: 'Hello, world!' },
      { role: 'user', content: 'And what colour was it?' },
    ]);
  });

  it('takes images on a streamed send too', async () => {
    const threadId = await newThread();
    const res = await sse(port, 'POST', `/api/threads/${threadId}/models/gpt-5.4-mini/messages`, alice.auth, {
      content: 'Streamed picture',
      images: [{ url: PNG_URL }, { url: PNG_URL }],
      stream: true,
    });
    expect(res.events.map((e) => e.event)).toEqual(['message_start', 'token', 'token', 'token', 'token', 'message_complete', 'close']);
    const parts = lastUserTurn()!.content as Array<{ type: string }>;
    expect(parts.map((p) => p.type)).toEqual(['text', 'image_url', 'image_url']);
    const stored = await prisma.message.findUniqueOrThrow({ where: { id: res.events[0].data.userMessageId } });
    expect(stored.images).toHaveLength(2);
  });

  it('takes a body above the 1 MB default on this route (images are large)', async () => {
    const threadId = await newThread();
    // PNG magic bytes and then padding: what the format check reads is the header.
    const big = Buffer.concat([Buffer.from(PNG_BASE64, 'base64'), Buffer.alloc(1_500_000)]);
    await send(threadId, 'gpt-5.4-mini', { content: 'A big one', images: [{ url: `data:image/png;base64,${big.toString('base64')}` }] }).expect(200);
    // Up to its own limit (20 MB); other routes keep the small one (their 413 is undocumented: plain supertest).
    expectError(await send(threadId, 'gpt-5.4-mini', { content: 'x', images: [{ url: 'x'.repeat(21_000_000) }] }), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await request(t.app.getHttpServer()).post('/api/threads').set(alice.auth).send({ title: 'x'.repeat(1_100_000) }), 413, 'PAYLOAD_TOO_LARGE');
  });

  describe('refusals (400 naming images, nothing stored, nothing sent upstream)', () => {
    async function refused(model: string, body: object, message?: RegExp): Promise<void> {
      const threadId = await newThread();
      const res = await send(threadId, model, { content: 'See this', ...body });
      expectError(res, 400, 'VALIDATION_ERROR');
      // `images`, or one image's field (`images.0.url`) when the DTO refuses it.
      const fields = res.body.error.details.fields as Record<string, string[]>;
      expect(Object.keys(fields).length).toBeGreaterThan(0);
      expect(Object.keys(fields).filter((f) => !/^images(\.|$)/.test(f))).toEqual([]);
      if (message) expect(fields.images.join(' ')).toMatch(message);
      expect(await prisma.message.count({ where: { threadId } })).toBe(0);
      expect(openai.requests.filter((r) => r.method === 'POST')).toEqual([]);
    }

    it('refuses images for a model that cannot see them (no vision: the demo model)', async () => {
      await refused('parley-demo', { images: [{ url: PNG_URL }] }, /parley-demo does not support images/);
    });

    it('refuses a data: URL whose bytes are not an image', async () => {
      await refused('gpt-5.4-mini', { images: [{ url: `data:image/png;base64,${Buffer.from('<html>not a picture</html>').toString('base64')}` }] }, /not a PNG/);
    });

    it('refuses an http URL to a private address (no request leaves for it)', async () => {
      await refused('gpt-5.4-mini', { images: [{ url: `${openai.url}/cat.png` }] }, /public address/);
      expect(openai.requests).toEqual([]);
    });

    it('refuses other URL schemes and more than 4 images', async () => {
      await refused('gpt-5.4-mini', { images: [{ url: 'file:///etc/passwd' }] });
      await refused('gpt-5.4-mini', { images: Array.from({ length: 5 }, () => ({ url: PNG_URL })) });
      await refused('gpt-5.4-mini', { images: [{ link: PNG_URL }] });
    });
  });

  it('stores the cached prompt and reasoning tokens the provider reports on the answer, and counts them in usage', async () => {
    const bob = await registerUser(t);
    const threadId = (await t.http().post('/api/threads').set(bob.auth).send({ title: 'Usage' }).expect(201)).body.data.thread.id as string;
    openai.script({ usage: { input: 30, output: 4 }, usageDetails: { cached: 24, reasoning: 3 } });
    const res = await t.http().post(`/api/threads/${threadId}/models/gpt-5.4-mini/messages`).set(bob.auth).send({ content: 'Hi' }).expect(200);
    const answer = await prisma.message.findUniqueOrThrow({ where: { id: res.body.data.assistantMessage.id } });
    expect(answer).toMatchObject({ promptTokens: 30, completionTokens: 4, cachedPromptTokens: 24, reasoningTokens: 3 });
    const usage = (await t.http().get('/api/usage').set(bob.auth).expect(200)).body.data;
    expect(usage.byModel).toEqual([expect.objectContaining({ source: 'chat', modelId: 'gpt-5.4-mini', requests: 1, cachedPromptTokens: 24, reasoningTokens: 3 })]);
  });
});
