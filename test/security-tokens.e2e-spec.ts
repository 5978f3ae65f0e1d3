import { TOKEN_SCOPES, TokenScope } from '../src/common/decorators/scopes.decorator';
import { PrismaService } from '../src/infra/database/prisma.service';
import { DEMO_PASSWORD, DEMO_USERNAME } from '../src/modules/auth/demo-user.seeder';
import { createTestApp, DEFAULT_PASSWORD, expectError, login, registerUser, SignedIn, TestApp } from './support/test-app';
import { CredentialCache } from '../src/infra/cache/credential-cache';

/**
 * Personal tokens (pk_…) written as the attacks of the security review: a stolen token must
 * not be the whole account. It cannot manage credentials or administer, it can only do what
 * its scopes allow, it expires, and it dies with the password.
 */

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY_MS = 86_400_000;
const MAX_TOKENS = 4;
const DEFAULT_TTL_DAYS = 7;

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
interface Operation {
  security?: unknown[];
  'x-token-scopes'?: TokenScope[];
}

describe('Personal token scopes and lifecycle (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        API_TOKENS_MAX_PER_USER: String(MAX_TOKENS),
        API_TOKEN_DEFAULT_TTL_DAYS: String(DEFAULT_TTL_DAYS),
        RATE_LIMITS: 'login=1000,register=1000,refresh=1000,profile.tokens=1000,profile.password=1000,threads.create=1000',
        PERSIST_TRANSCRIPTS: 'true',
      },
    });
    prisma = t.app.get(PrismaService);
    admin = await login(t, DEMO_USERNAME, DEMO_PASSWORD);
  });

  afterAll(() => t.close());

  async function newToken(who: SignedIn, body: { scopes?: TokenScope[]; expiresInDays?: number } = {}): Promise<{ token: string; id: string; auth: { Authorization: string } }> {
    const res = await t.http().post('/api/profile/tokens').set(who.auth).send({ name: 'program', ...body }).expect(201);
    const { token, id } = res.body.data as { token: string; id: string };
    return { token, id, auth: { Authorization: `Bearer ${token}` } };
  }

  async function newThread(who: SignedIn): Promise<string> {
    const res = await t.http().post('/api/threads').set(who.auth).send({ title: 'secret plans' }).expect(201);
    return res.body.data.thread.id as string;
  }

  function expectForbidden(res: { status: number; body: { error?: { message?: string } }; headers: Record<string, unknown> }, naming?: string): void {
    expectError(res, 403, 'FORBIDDEN');
    if (naming) expect(res.body.error!.message).toContain(naming);
  }

  describe('a token cannot manage credentials or administer, whatever its scopes', () => {
    it('cannot mint tokens (which would outlive it), list or revoke them', async () => {
      const mallory = await registerUser(t);
      const stolen = await newToken(mallory);
      const other = await newToken(mallory);
      expectForbidden(await t.http().post('/api/profile/tokens').set(stolen.auth).send({ name: 'persistence' }));
      expectForbidden(await t.http().get('/api/profile/tokens').set(stolen.auth));
      expectForbidden(await t.http().delete(`/api/profile/tokens/${other.id}`).set(stolen.auth));
      expect(await prisma.apiToken.count({ where: { userId: mallory.user.id } })).toBe(2);
    });

    it('cannot replace or remove provider keys', async () => {
      const victim = await registerUser(t);
      const stolen = await newToken(victim);
      expectForbidden(await t.http().post('/api/profile/api-keys').set(stolen.auth).send({ openai: 'sk-attacker-key-123456' }));
      expectForbidden(await t.http().delete('/api/profile/api-keys/openai').set(stolen.auth));
      expect(await prisma.providerKey.count({ where: { userId: victim.user.id } })).toBe(0);
    });

    it('cannot change the password (nor read or edit the profile)', async () => {
      const victim = await registerUser(t);
      const stolen = await newToken(victim);
      const res = await t.http().post('/api/profile/password').set(stolen.auth).send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'attacker chosen password' });
      expectForbidden(res);
      expectForbidden(await t.http().get('/api/profile').set(stolen.auth));
      expectForbidden(await t.http().patch('/api/profile').set(stolen.auth).send({ displayName: 'pwned' }));
      await login(t, victim.user.username, DEFAULT_PASSWORD);
    });

    it("an admin's token has no admin power: 403 on /api/admin/*", async () => {
      const stolen = await newToken(admin);
      const target = await registerUser(t);
      expectForbidden(await t.http().get('/api/admin/users').set(stolen.auth));
      expectForbidden(await t.http().get('/api/admin/audit').set(stolen.auth));
      expectForbidden(await t.http().post('/api/admin/users').set(stolen.auth).send({ username: `evil.${Date.now()}@example.com`, password: 'attacker password', role: 'admin' }));
      expectForbidden(await t.http().patch(`/api/admin/users/${target.user.id}`).set(stolen.auth).send({ role: 'admin' }));
      expectForbidden(await t.http().patch(`/api/admin/users/${target.user.id}`).set(stolen.auth).send({ password: 'attacker password' }));
      expectForbidden(await t.http().delete(`/api/admin/users/${target.user.id}`).set(stolen.auth));
      expect((await prisma.user.findUniqueOrThrow({ where: { id: target.user.id } })).role).toBe('user');
      // The admin's own session still administers.
      await t.http().get('/api/admin/users').set(admin.auth).expect(200);
    });

    it('every route without x-token-scopes in the served OpenAPI document refuses a token holding every scope (the safe default)', async () => {
      const owner = await registerUser(t);
      const all = await newToken(owner);
      const spec = (await t.http().get('/api/openapi.json').expect(200)).body as { paths: Record<string, Partial<Record<Method, Operation>>> };
      const sessionOnly: string[] = [];
      for (const [path, operations] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(operations) as Array<[Method, Operation]>) {
          if (!op.security?.length || op['x-token-scopes']) continue;
          sessionOnly.push(`${method.toUpperCase()} ${path}`);
          const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'provider' ? 'openai' : name.toLowerCase().includes('model') ? 'parley-demo' : owner.user.id));
          const res = await t.http()[method](url).set(all.auth).send({});
          expect({ route: `${method.toUpperCase()} ${path}`, status: res.status, code: res.body.error?.code }).toEqual({
            route: `${method.toUpperCase()} ${path}`,
            status: 403,
            code: 'FORBIDDEN',
          });
        }
      }
      // The credential and admin routes are among them (the list is the document's, not this test's).
      expect(sessionOnly).toEqual(
        expect.arrayContaining([
          'POST /api/profile/tokens',
          'DELETE /api/profile/tokens/{id}',
          'POST /api/profile/api-keys',
          'POST /api/profile/password',
          'GET /api/admin/users',
          'PATCH /api/admin/users/{id}',
          'POST /api/models/{modelId}/load',
        ]),
      );
    });

    it('every scoped route refuses a token holding every scope but those it needs, naming the missing one', async () => {
      const owner = await registerUser(t);
      const spec = (await t.http().get('/api/openapi.json').expect(200)).body as { paths: Record<string, Partial<Record<Method, Operation>>> };
      const tokens = new Map<string, { Authorization: string }>();
      let checked = 0;
      for (const [path, operations] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(operations) as Array<[Method, Operation]>) {
          const needed = op['x-token-scopes'];
          if (!needed) continue;
          const others = TOKEN_SCOPES.filter((s) => !needed.includes(s));
          const key = others.join(' ');
          if (!tokens.has(key)) tokens.set(key, (await newToken(owner, { scopes: others })).auth);
          const url = path.replace(/\{(\w+)\}/g, (_m, name: string) => (name.toLowerCase().includes('model') ? 'parley-demo' : owner.user.id));
          const res = await t.http()[method](url).set(tokens.get(key)!).send({});
          const route = `${method.toUpperCase()} ${path}`;
          if (path.startsWith('/v1/')) {
            // The gateway answers in OpenAI's error format.
            expect({ route, status: res.status, type: res.body.error?.type }).toEqual({ route, status: 403, type: 'permission_error' });
          } else {
            expect({ route, status: res.status, code: res.body.error?.code }).toEqual({ route, status: 403, code: 'FORBIDDEN' });
          }
          expect(res.body.error.message).toContain(needed[0]);
          checked++;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(15);
    });
  });

  describe('scopes', () => {
    it('a token without threads:write reads threads and messages but cannot send, create, rename or delete', async () => {
      const alice = await registerUser(t);
      const threadId = await newThread(alice);
      await t.http().post(`/api/threads/${threadId}/models/parley-demo/messages`).set(alice.auth).send({ content: 'Hello' }).expect(200);
      const reader = await newToken(alice, { scopes: ['threads:read'] });

      const list = await t.http().get('/api/threads').set(reader.auth).expect(200);
      expect(list.body.data.threads.map((th: { id: string }) => th.id)).toEqual([threadId]);
      await t.http().get(`/api/threads/${threadId}`).set(reader.auth).expect(200);
      const messages = await t.http().get(`/api/threads/${threadId}/models/parley-demo/messages`).set(reader.auth).expect(200);
      expect(messages.body.data.messages.length).toBeGreaterThanOrEqual(2);
      await t.http().get('/api/usage').set(reader.auth).expect(200);

      expectForbidden(await t.http().post(`/api/threads/${threadId}/models/parley-demo/messages`).set(reader.auth).send({ content: 'Injected' }), 'threads:write');
      expectForbidden(await t.http().post('/api/threads').set(reader.auth).send({ title: 'x' }), 'threads:write');
      expectForbidden(await t.http().patch(`/api/threads/${threadId}/title`).set(reader.auth).send({ title: 'renamed' }), 'threads:write');
      expectForbidden(await t.http().delete(`/api/threads/${threadId}`).set(reader.auth), 'threads:write');
      // Nor can it call models directly.
      expectForbidden(await t.http().post('/api/llm/complete').set(reader.auth).send({ prompt: 'hi', model: 'parley-demo' }), 'models');

      const after = await t.http().get(`/api/threads/${threadId}/models/parley-demo/messages`).set(alice.auth).expect(200);
      expect(after.body.data.messages).toHaveLength(messages.body.data.messages.length);
      expect(JSON.stringify(after.body)).not.toContain('Injected');
    });

    it('a threads:write token sends messages', async () => {
      const bob = await registerUser(t);
      const threadId = await newThread(bob);
      const writer = await newToken(bob, { scopes: ['threads:write'] });
      await t.http().post(`/api/threads/${threadId}/models/parley-demo/messages`).set(writer.auth).send({ content: 'Hello' }).expect(200);
      expectForbidden(await t.http().get('/api/threads').set(writer.auth), 'threads:read');
    });

    it('a models-only token calls models on /v1 and /api/llm, and is refused on /api/threads', async () => {
      const carol = await registerUser(t);
      await newThread(carol);
      const modelsOnly = await newToken(carol, { scopes: ['models'] });

      const completion = await t
        .http()
        .post('/v1/chat/completions')
        .set(modelsOnly.auth)
        .send({ model: 'parley-demo', messages: [{ role: 'user', content: 'Say hello' }] })
        .expect(200);
      expect(completion.body).toMatchObject({ object: 'chat.completion', model: 'parley-demo' });
      expect(typeof completion.body.choices[0].message.content).toBe('string');
      const models = await t.http().get('/v1/models').set(modelsOnly.auth).expect(200);
      expect(models.body.data.map((m: { id: string }) => m.id)).toContain('parley-demo');
      await t.http().post('/api/llm/complete').set(modelsOnly.auth).send({ prompt: 'Say hello', model: 'parley-demo' }).expect(200);

      expectForbidden(await t.http().get('/api/threads').set(modelsOnly.auth), 'threads:read');
      expectForbidden(await t.http().post('/api/threads').set(modelsOnly.auth).send({ title: 'x' }), 'threads:write');
      expectForbidden(await t.http().get('/api/usage').set(modelsOnly.auth), 'threads:read');
    });

    it('a models-only token cannot write into a conversation through /v1 (conversation_id)', async () => {
      const erin = await registerUser(t);
      const conversation = await newThread(erin);
      const modelsOnly = await newToken(erin, { scopes: ['models'] });
      const res = await t
        .http()
        .post('/v1/chat/completions')
        .set(modelsOnly.auth)
        .send({ model: 'parley-demo', messages: [{ role: 'user', content: 'planted' }], conversation_id: conversation });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', message: expect.stringContaining('threads:write') });
      expect(await prisma.message.count({ where: { threadId: conversation } })).toBe(0);
      const writer = await newToken(erin, { scopes: ['models', 'threads:write'] });
      await t
        .http()
        .post('/v1/chat/completions')
        .set(writer.auth)
        .send({ model: 'parley-demo', messages: [{ role: 'user', content: 'kept' }], conversation_id: conversation })
        .expect(200);
      expect(await prisma.message.count({ where: { threadId: conversation } })).toBe(2);
    });

    it('a token without models is refused on /v1 in OpenAI’s error format', async () => {
      const dave = await registerUser(t);
      const threadsOnly = await newToken(dave, { scopes: ['threads:read', 'threads:write'] });
      const res = await t
        .http()
        .post('/v1/chat/completions')
        .set(threadsOnly.auth)
        .send({ model: 'parley-demo', messages: [{ role: 'user', content: 'hi' }] });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', message: expect.stringContaining('models') });
    });

    it('creates tokens with every scope by default, stores and lists scopes and expiry', async () => {
      const erin = await registerUser(t);
      const before = Date.now();
      const created = await t.http().post('/api/profile/tokens').set(erin.auth).send({ name: 'default' }).expect(201);
      expect(created.body.data).toMatchObject({ scopes: [...TOKEN_SCOPES], expiresAt: expect.stringMatching(ISO) });
      // No expiresInDays: API_TOKEN_DEFAULT_TTL_DAYS (7 in this suite), never "no expiry".
      const expiresAt = Date.parse(created.body.data.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + DEFAULT_TTL_DAYS * DAY_MS - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + DEFAULT_TTL_DAYS * DAY_MS + 1000);

      // Given in any order, stored in a fixed order.
      const narrow = await t.http().post('/api/profile/tokens').set(erin.auth).send({ name: 'narrow', scopes: ['threads:write', 'models'], expiresInDays: 30 }).expect(201);
      expect(narrow.body.data.scopes).toEqual(['models', 'threads:write']);

      const list = await t.http().get('/api/profile/tokens').set(erin.auth).expect(200);
      expect(list.body.data.tokens).toEqual([
        expect.objectContaining({ name: 'narrow', scopes: ['models', 'threads:write'], expiresAt: narrow.body.data.expiresAt }),
        expect.objectContaining({ name: 'default', scopes: [...TOKEN_SCOPES], expiresAt: created.body.data.expiresAt }),
      ]);
      const rows = await prisma.apiToken.findMany({ where: { userId: erin.user.id }, orderBy: { createdAt: 'asc' } });
      expect(rows.map((r) => r.scopes)).toEqual([[...TOKEN_SCOPES], ['models', 'threads:write']]);
    });

    it('refuses unknown, empty and repeated scopes', async () => {
      const frank = await registerUser(t);
      for (const scopes of [['admin'], [], ['models', 'models'], 'models', ['tokens:write'], [null]]) {
        const res = await t.http().post('/api/profile/tokens').set(frank.auth).send({ name: 'x', scopes });
        expectError(res, 400, 'VALIDATION_ERROR');
        expect(res.body.error.details.fields.scopes).toBeDefined();
      }
      expect(await prisma.apiToken.count({ where: { userId: frank.user.id } })).toBe(0);
    });
  });

  describe('lifecycle', () => {
    it('a password change revokes every token of the user', async () => {
      const gina = await registerUser(t);
      const a = await newToken(gina);
      const b = await newToken(gina, { scopes: ['models'] });
      await t.http().get('/api/threads').set(a.auth).expect(200);

      await t.http().post('/api/profile/password').set(gina.auth).send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'a brand new password' }).expect(200);

      expectError(await t.http().get('/api/threads').set(a.auth), 401, 'UNAUTHORIZED');
      const v1 = await t.http().get('/v1/models').set(b.auth);
      expect(v1.status).toBe(401);
      // The session that changed the password goes on; its list is empty.
      const list = await t.http().get('/api/profile/tokens').set(gina.auth).expect(200);
      expect(list.body.data.tokens).toEqual([]);
      const audit = await prisma.auditLog.findFirstOrThrow({ where: { actorId: gina.user.id, action: 'auth.password_changed' } });
      expect(audit.metadata).toMatchObject({ revokedPersonal: 2 });
    });

    it("an admin's password reset revokes the user's tokens and ends their sessions", async () => {
      const hugo = await registerUser(t);
      const token = await newToken(hugo);
      await t.http().get('/api/threads').set(token.auth).expect(200);

      await t.http().patch(`/api/admin/users/${hugo.user.id}`).set(admin.auth).send({ password: 'reset by the admin' }).expect(200);

      expectError(await t.http().get('/api/threads').set(token.auth), 401, 'UNAUTHORIZED');
      expectError(await t.http().get('/api/threads').set(hugo.auth), 401, 'UNAUTHORIZED');
      expect(await prisma.apiToken.count({ where: { userId: hugo.user.id, revokedAt: null } })).toBe(0);
      await login(t, hugo.user.username, 'reset by the admin');
    });

    it('an expired token gets 401', async () => {
      const ivan = await registerUser(t);
      const token = await newToken(ivan, { expiresInDays: 1 });
      await t.http().get('/api/threads').set(token.auth).expect(200);
      // A day and a second later.
      await prisma.apiToken.update({ where: { id: token.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      // The row changed behind the app's back: its credential cache is told, as every change through the API tells it.
      await t.app.get(CredentialCache).forgetUser(ivan.user.id);
      expectError(await t.http().get('/api/threads').set(token.auth), 401, 'UNAUTHORIZED');
      expect((await t.http().get('/v1/models').set(token.auth)).status).toBe(401);
    });

    it(`refuses a token past the cap of active tokens (${MAX_TOKENS} here) with 409, counting only live ones`, async () => {
      const judy = await registerUser(t);
      const made = [];
      for (let i = 0; i < MAX_TOKENS; i++) made.push(await newToken(judy));
      const refused = await t.http().post('/api/profile/tokens').set(judy.auth).send({ name: 'one too many' });
      expectError(refused, 409, 'CONFLICT');
      expect(refused.body.error.message).toContain(`${MAX_TOKENS} active personal API tokens`);
      expect(refused.body.error.details).toEqual({ limit: MAX_TOKENS });
      expect(await prisma.apiToken.count({ where: { userId: judy.user.id } })).toBe(MAX_TOKENS);

      // Concurrent requests cannot pass the cap together either.
      await t.http().delete(`/api/profile/tokens/${made[0].id}`).set(judy.auth).expect(200);
      const race = await Promise.all([1, 2, 3].map(() => t.http().post('/api/profile/tokens').set(judy.auth).send({ name: 'race' })));
      expect(race.map((r) => r.status).sort()).toEqual([201, 409, 409]);

      // An expired token frees its place.
      await prisma.apiToken.update({ where: { id: made[1].id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      await newToken(judy);
      expectError(await t.http().post('/api/profile/tokens').set(judy.auth).send({ name: 'again too many' }), 409, 'CONFLICT');
    });

    it('public routes do not authenticate the token (it is not even marked used)', async () => {
      const kim = await registerUser(t);
      const token = await newToken(kim);
      await t.http().get('/api/health/live').set(token.auth).expect(200);
      await t.http().get('/api/health').set(token.auth).expect(200);
      expect((await prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedAt).toBeNull();
      await t.http().get('/api/threads').set(token.auth).expect(200);
      expect((await prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedAt).not.toBeNull();
    });

    it('takes a token only from the Authorization header, never from the query string or body', async () => {
      const leo = await registerUser(t);
      const { token } = await newToken(leo);
      expectError(await t.http().get(`/api/threads?access_token=${token}`), 401, 'UNAUTHORIZED');
      const inBody = await t.http().post('/v1/chat/completions').send({ access_token: token, model: 'parley-demo', messages: [{ role: 'user', content: 'hi' }] });
      expect(inBody.status).toBe(401);
      expectError(await t.http().get('/api/threads').set('Cookie', `access_token=${token}`), 401, 'UNAUTHORIZED');
    });
  });
});
