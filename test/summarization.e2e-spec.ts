import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobQueue } from '../src/infra/queue/job-queue';
import { PrismaService } from '../src/infra/database/prisma.service';
import { TokenCounter } from '../src/modules/models/token-counter';
import { FakeAnthropic, FakeOpenAI } from './fakes';
import { createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';

/** A small-window chat model, so a few messages cross the summary threshold. */
const TINY = {
  id: 'tiny',
  name: 'Tiny test model',
  provider: 'openai',
  model: 'tiny-model',
  apiKeyRequired: 'openai',
  requiresLoading: false,
  capabilities: ['text'],
  contextLength: 3000,
  maxOutputTokens: 200,
  pricing: null,
  temperatureRange: { min: 0, max: 2, step: 0.1, default: 0.7 },
};
// Trigger: (3000 - 200) * 0.5 = 1400 unsummarized tokens.
const LONG = 'alpha beta gamma delta '.repeat(120); // ~480 tokens

describe('Summarization (e2e)', () => {
  const chat = new FakeOpenAI();
  const summarizer = new FakeAnthropic();
  let t: TestApp;
  let prisma: PrismaService;
  let queue: JobQueue;
  let user: SignedIn;

  const summaryRequests = () => summarizer.requests.filter((r) => r.method === 'POST' && /running summary/.test(JSON.stringify(r.body)));
  const titleRequests = () => summarizer.requests.filter((r) => r.method === 'POST' && /title of at most six words/.test(JSON.stringify(r.body)));

  beforeAll(async () => {
    await Promise.all([chat.start(), summarizer.start()]);
    const dir = mkdtempSync(join(tmpdir(), 'parley-summary-'));
    writeFileSync(join(dir, 'models.json'), JSON.stringify({ models: [TINY] }));
    t = await createTestApp({
      env: {
        OPENAI_BASE_URL: `${chat.url}/v1`,
        OPENAI_API_KEY: 'sk-server',
        ANTHROPIC_BASE_URL: summarizer.url,
        ANTHROPIC_API_KEY: 'sk-server-anthropic',
        SUMMARY_MODEL: 'claude-haiku',
        MODELS_FILE: join(dir, 'models.json'),
        PROVIDER_RETRY_BASE_MS: '5',
        RATE_LIMITS: 'register=1000,threads.create=1000,messages.send=1000,messages.summarize=1000',
      },
    });
    prisma = t.app.get(PrismaService);
    queue = t.app.get(JobQueue);
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([chat.stop(), summarizer.stop()]);
  });
  beforeEach(() => {
    chat.reset();
    summarizer.reset();
  });

  const thread = async (title?: string) =>
    (await t.http().post('/api/threads').set(user.auth).send(title ? { title } : {}).expect(201)).body.data.thread.id as string;
  const send = (threadId: string, content: string) =>
    t.http().post(`/api/threads/${threadId}/models/tiny/messages`).set(user.auth).send({ content }).expect(200);

  it('does not summarize a short thread', async () => {
    const id = await thread('Short');
    await send(id, 'hello');
    await queue.idle();
    expect(summaryRequests()).toHaveLength(0);
    expect(await prisma.threadModelContext.count({ where: { threadId: id } })).toBe(0);
  });

  it('summarizes once the history crosses the threshold: one job, previous summary + new messages only, then sends the summary instead of them', async () => {
    const id = await thread('Long');
    summarizer.script({ tokens: ['FIRST', ' SUMMARY'], delayMs: 150 });
    for (let i = 0; i < 3; i++) await send(id, `${i}: ${LONG}`);
    // While that job runs, another crossing exchange queues nothing more.
    expect(await queue.isPending('summarize', `${id}:tiny`)).toBe(true);
    await send(id, `3: ${LONG}`);
    await queue.idle();
    expect(summaryRequests()).toHaveLength(1);
    const firstInput = JSON.stringify(summaryRequests()[0].body);
    expect(firstInput).toContain('Previous summary:\\n(none)');
    expect(summaryRequests()[0].body.max_tokens).toBe(700);

    const context = await prisma.threadModelContext.findUniqueOrThrow({ where: { threadId_modelId: { threadId: id, modelId: 'tiny' } } });
    expect(context).toMatchObject({ summary: 'FIRST SUMMARY', summaryModel: 'claude-haiku' });
    expect((await prisma.thread.findUniqueOrThrow({ where: { id } })).summary).toBe('FIRST SUMMARY');

    // The next request to the chat model carries the summary, not the summarized messages.
    chat.reset();
    await send(id, 'what did we say?');
    const sent = JSON.stringify(chat.requests[0].body.messages);
    expect(sent).toContain('FIRST SUMMARY');
    expect(sent).not.toContain('0: alpha');
    await queue.idle();

    // A second summary is written from the first one plus only the messages after it.
    summarizer.reset();
    summarizer.script({ tokens: ['SECOND', ' SUMMARY'] });
    for (let i = 4; i < 8; i++) await send(id, `${i}: ${LONG}`);
    await queue.idle();
    const inputs = summaryRequests().map((r) => JSON.stringify(r.body));
    expect(inputs.length).toBeGreaterThanOrEqual(1);
    expect(inputs[0]).toContain('Previous summary:\\nFIRST SUMMARY');
    expect(inputs.some((input) => input.includes('0: alpha') || input.includes('1: alpha'))).toBe(false);
    expect(inputs.some((input) => input.includes('4: alpha'))).toBe(true);

    const detail = await t.http().get(`/api/threads/${id}`).set(user.auth).expect(200);
    expect(detail.body.data.thread.models.tiny).toMatchObject({ summary: 'SECOND SUMMARY', summaryUpdatedAt: expect.any(String) });
  });

  it('keeps chatting with plain truncation when summarization fails', async () => {
    const id = await thread('Failing');
    summarizer.script({ failWith: { status: 500 } });
    // Seven long messages: more than the 2800-token window holds.
    for (let i = 0; i < 7; i++) await send(id, `${i}: ${LONG}`);
    await queue.idle();
    expect(await prisma.threadModelContext.count({ where: { threadId: id } })).toBe(0);
    chat.reset();
    await send(id, 'still there?');
    const sent = chat.requests[0].body.messages as Array<{ content: string }>;
    expect(sent.at(-1)!.content).toBe('still there?');
    expect(sent.some((m) => m.content.startsWith('0: alpha'))).toBe(false); // truncated to the window
  });

  it('summarizes on demand in seed 001 shape, within 700 tokens', async () => {
    const id = await thread('Manual');
    await send(id, 'a short exchange');
    summarizer.script({ tokens: Array.from({ length: 1200 }, (_, i) => ` word${i}`) });
    const res = await t.http().post(`/api/threads/${id}/models/tiny/summarize`).set(user.auth).expect(200);
    expect(res.body.data).toEqual({ summary: expect.any(String), tokens: expect.any(Number), generatedAt: expect.any(String), modelUsed: 'claude-haiku' });
    expect(res.body.data.tokens).toBeLessThanOrEqual(700);
    expect(await t.app.get(TokenCounter).count(res.body.data.summary)).toBeLessThanOrEqual(700);
    const other = await registerUser(t);
    expectError(await t.http().post(`/api/threads/${id}/models/tiny/summarize`).set(other.auth), 404, 'NOT_FOUND');
    const empty = await thread('Empty');
    expectError(await t.http().post(`/api/threads/${empty}/models/tiny/summarize`).set(user.auth), 422, 'UNPROCESSABLE');
  });

  it("titles a thread created without one after its first exchange, never a user's title", async () => {
    summarizer.script({ tokens: ['"Event', ' sourcing', ' basics".'] });
    const auto = await thread();
    await send(auto, 'Explain event sourcing to me');
    await queue.idle();
    expect(titleRequests()).toHaveLength(1);
    expect((await prisma.thread.findUniqueOrThrow({ where: { id: auto } })).title).toBe('Event sourcing basics');

    const named = await thread('My own title');
    await send(named, 'Explain event sourcing to me');
    await queue.idle();
    expect(titleRequests()).toHaveLength(1);
    expect((await prisma.thread.findUniqueOrThrow({ where: { id: named } })).title).toBe('My own title');
  });
});
