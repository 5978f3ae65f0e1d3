import { JwtService } from '@nestjs/jwt';
import { JobQueue } from '../src/infra/queue/job-queue';
import { DemoProvider } from '../src/modules/models/providers/demo.provider';
import { SUMMARY_INSTRUCTIONS, TITLE_INSTRUCTIONS } from '../src/modules/summarization/summarization.prompts';
import { cookieValue, createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';

const jwt = new JwtService();

/**
 * A fresh clone's first hour: no provider key anywhere, the demo model on (the test
 * configuration sets no key and points every provider at a closed port).
 */
describe('A fresh clone without keys', () => {
  let t: TestApp;
  let alice: SignedIn;

  beforeAll(async () => {
    t = await createTestApp();
    alice = await registerUser(t);
  });
  afterAll(() => t.close());

  it('says at start which providers are usable and why the others are not', async () => {
    const messages = () => t.logs.map((l) => String(l.msg));
    expect(messages()).toContainEqual(
      "Providers: usable: demo (offline, no key); no server key, usable with a user's own key: openai (OPENAI_API_KEY), anthropic (ANTHROPIC_API_KEY), google (GOOGLE_API_KEY); not checked yet: ollama (http://127.0.0.1:9: probing)",
    );
    // The probe runs after start, in the background (the test configuration's Ollama is a closed port).
    for (let i = 0; i < 50 && !messages().some((m) => m.startsWith('Ollama at')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(messages()).toContainEqual(expect.stringMatching(/^Ollama at http:\/\/127\.0\.0\.1:9 is unreachable \(.+\): its models are listed as unavailable/));
  });

  describe('POST /api/llm/complete without a model', () => {
    it('is answered by the demo model when no key serves the default provider', async () => {
      const res = await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'Hi' }).expect(200);
      expect(res.body.data).toMatchObject({ model: 'parley-demo', content: expect.stringContaining('You said: "Hi"') });
    });

    it('still asks for a key when the caller named the provider or the model', async () => {
      expectError(await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'Hi', provider: 'openai' }), 422, 'API_KEY_REQUIRED');
      expectError(await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'Hi', model: 'gpt-5.4-mini' }), 422, 'API_KEY_REQUIRED');
    });
  });

  describe('session cookies', () => {
    it('keep the access cookie exactly as long as its JWT', async () => {
      const res = await t.http().post('/api/register').send({ username: `cookies.${Date.now()}@example.com`, password: 'correct horse battery' }).expect(201);
      const cookies = res.headers['set-cookie'] as unknown as string[];
      const access = cookies.find((c) => c.startsWith('access_token='))!;
      const claims = jwt.decode(cookieValue(cookies, 'access_token')!) as { iat: number; exp: number };
      expect(Number(/Max-Age=(\d+)/.exec(access)![1])).toBe(claims.exp - claims.iat);
      expect(res.body.data.expiresIn).toBe(claims.exp - claims.iat);
      // The refresh token goes to refresh and to logout only, for its own (30-day) lifetime.
      const refreshes = cookies.filter((c) => c.startsWith('refresh_token='));
      expect(refreshes.map((c) => /Path=([^;]+)/.exec(c)![1]).sort()).toEqual(['/api/logout', '/api/refresh']);
      for (const c of refreshes) expect(Number(/Max-Age=(\d+)/.exec(c)![1])).toBeGreaterThan(29 * 24 * 3600);
    });

    it('let logout end the session once the access cookie is gone (only the refresh cookie is sent)', async () => {
      const s = await registerUser(t);
      const out = await t.http().post('/api/logout').set('Cookie', `refresh_token=${s.refreshToken}`).send({}).expect(200);
      const cleared = (out.headers['set-cookie'] as unknown as string[]).filter((c) => c.startsWith('refresh_token=;'));
      expect(cleared.map((c) => /Path=([^;]+)/.exec(c)![1]).sort()).toEqual(['/api/logout', '/api/refresh']);
      expectError(await t.http().post('/api/refresh').send({ refreshToken: s.refreshToken }), 401, 'INVALID_REFRESH_TOKEN');
    });
  });

  describe('the demo model asked for a title or a summary', () => {
    it('titles a new thread with the first words of its first message', async () => {
      const created = await t.http().post('/api/threads').set(alice.auth).send({}).expect(201);
      const id = created.body.data.thread.id as string;
      await t.http().post(`/api/threads/${id}/models/parley-demo/messages`).set(alice.auth).send({ content: 'how do I rotate the encryption key safely?' }).expect(200);
      await t.app.get(JobQueue).idle();
      const thread = await t.http().get(`/api/threads/${id}`).set(alice.auth).expect(200);
      expect(thread.body.data.thread.title).toBe('How do I rotate the encryption');
    });

    it('answers the summary instruction with a summary of what the user wrote', () => {
      const input = 'Previous summary:\n(none)\n\nNew messages:\nUser: We use PostgreSQL 17.\n\nAssistant: Noted.\n\nUser: And Redis for limits.';
      const summary = DemoProvider.answerTo({ model: 'parley-demo', messages: [{ role: 'system', content: SUMMARY_INSTRUCTIONS }, { role: 'user', content: input }] });
      expect(summary).toContain('"We use PostgreSQL 17."; "And Redis for limits."');
      expect(summary).not.toContain('You said');
      const next = DemoProvider.answerTo({
        model: 'parley-demo',
        messages: [{ role: 'system', content: SUMMARY_INSTRUCTIONS }, { role: 'user', content: `Previous summary:\n${summary}\n\nNew messages:\nUser: Deploy on Friday.` }],
      });
      expect(next).toContain(summary);
      expect(next).toContain('"Deploy on Friday."');
      expect(DemoProvider.answerTo({ model: 'parley-demo', messages: [{ role: 'system', content: TITLE_INSTRUCTIONS }, { role: 'user', content: 'hello there.' }] })).toBe('Hello there');
    });
  });
});
