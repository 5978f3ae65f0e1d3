import { randomBytes } from 'node:crypto';
import { PrismaService } from '../src/infra/database/prisma.service';
import { createTestApp, DEFAULT_PASSWORD, expectError, login, registerUser, SignedIn, TestApp } from './support/test-app';
import { CredentialCache } from '../src/infra/cache/credential-cache';

/**
 * Profile, provider keys (BYOK), personal tokens and password change, as a client sees them.
 * Sign-up and sign-in limits (5/min per IP) are raised so each test can use fresh users;
 * every profile limit keeps seed 001's value.
 */

const ENVELOPE_KEYS = ['data', 'requestId', 'success', 'timestamp'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const secret = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;


describe('Profile (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMITS: 'register=1000,login=1000,refresh=1000' } });
    prisma = t.app.get(PrismaService);
  });
  afterAll(() => t.close());

  describe('GET /api/profile', () => {
    it("returns the signed-in user in seed 001's shape, no provider key configured yet", async () => {
      const alice = await registerUser(t);
      const registered = alice.user as SignedIn['user'] & { createdAt: string };
      const res = await t.http().get('/api/profile').set(alice.auth).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(ENVELOPE_KEYS);
      expect(res.body.success).toBe(true);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
      expect(res.body.data).toEqual({
        user: {
          id: alice.user.id,
          username: alice.user.username,
          displayName: null,
          role: 'user',
          createdAt: registered.createdAt,
          settings: { defaultModel: null, defaultTemperature: 0.7, systemPrompt: '' },
          apiKeys: { claude: { configured: false }, openai: { configured: false }, google: { configured: false } },
        },
      });
      expect(res.body.data.user.createdAt).toMatch(ISO);
      expect(JSON.stringify(res.body)).not.toMatch(/password/i);
    });

    it('accepts the access_token cookie as well as the bearer header', async () => {
      const alice = await registerUser(t);
      const res = await t.http().get('/api/profile').set('Cookie', `access_token=${alice.accessToken}`).expect(200);
      expect(res.body.data.user.id).toBe(alice.user.id);
    });

    it('answers 401 UNAUTHORIZED in the error envelope without credentials or with a bad one', async () => {
      expectError(await t.http().get('/api/profile'), 401, 'UNAUTHORIZED');
      expectError(await t.http().get('/api/profile').set('Authorization', 'Bearer not-a-jwt'), 401, 'UNAUTHORIZED');
      expectError(await t.http().get('/api/profile').set('Authorization', 'Bearer pk_doesnotexist'), 401, 'UNAUTHORIZED');
    });
  });

  describe('PATCH /api/profile', () => {
    let carol: SignedIn;
    beforeAll(async () => {
      carol = await registerUser(t);
    });

    it("updates display name and settings and answers in seed 001's shape", async () => {
      const settings = { defaultModel: 'gpt-4', defaultTemperature: 0.8, systemPrompt: 'You are an expert coding assistant...' };
      const res = await t.http().patch('/api/profile').set(carol.auth).send({ displayName: 'John Smith', settings }).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(ENVELOPE_KEYS);
      expect(res.body.data).toEqual({
        user: { id: carol.user.id, username: carol.user.username, displayName: 'John Smith', settings },
      });
      const profile = await t.http().get('/api/profile').set(carol.auth).expect(200);
      expect(profile.body.data.user).toMatchObject({ displayName: 'John Smith', settings });
    });

    it('merges a partial settings update into the stored settings', async () => {
      const full = { defaultModel: 'claude-opus', defaultTemperature: 0.5, systemPrompt: 'Be brief.' };
      await t.http().patch('/api/profile').set(carol.auth).send({ settings: full }).expect(200);

      const res = await t.http().patch('/api/profile').set(carol.auth).send({ settings: { defaultTemperature: 1.2 } }).expect(200);
      expect(res.body.data.user.settings).toEqual({ defaultModel: 'claude-opus', defaultTemperature: 1.2, systemPrompt: 'Be brief.' });
      const profile = await t.http().get('/api/profile').set(carol.auth).expect(200);
      expect(profile.body.data.user.settings).toEqual({ defaultModel: 'claude-opus', defaultTemperature: 1.2, systemPrompt: 'Be brief.' });
    });

    it('changes only the display name when no settings are given', async () => {
      const before = (await t.http().get('/api/profile').set(carol.auth).expect(200)).body.data.user.settings;
      const res = await t.http().patch('/api/profile').set(carol.auth).send({ displayName: 'Carol' }).expect(200);
      expect(res.body.data.user).toEqual({ id: carol.user.id, username: carol.user.username, displayName: 'Carol', settings: before });
    });

    it.each([
      ['2.5', 2.5],
      ['"hot"', 'hot'],
      ['-0.1', -0.1],
    ])('rejects defaultTemperature %s with VALIDATION_ERROR naming the nested field', async (_label, value) => {
      const res = await t.http().patch('/api/profile').set(carol.auth).send({ settings: { defaultTemperature: value } });
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields['settings.defaultTemperature']).toEqual(expect.arrayContaining([expect.any(String)]));
    });

    it('rejects unknown fields, at the top level and inside settings', async () => {
      const top = await t.http().patch('/api/profile').set(carol.auth).send({ displayName: 'x', role: 'admin' });
      expectError(top, 400, 'VALIDATION_ERROR');
      expect(top.body.error.details.fields.role).toEqual([expect.stringContaining('should not exist')]);

      const nested = await t.http().patch('/api/profile').set(carol.auth).send({ settings: { theme: 'dark' } });
      expectError(nested, 400, 'VALIDATION_ERROR');
      expect(nested.body.error.details.fields['settings.theme']).toBeDefined();
    });

    it('rejects a system prompt over 8000 characters and accepts one of exactly 8000', async () => {
      const res = await t.http().patch('/api/profile').set(carol.auth).send({ settings: { systemPrompt: 'x'.repeat(8001) } });
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields['settings.systemPrompt']).toBeDefined();

      const ok = await t.http().patch('/api/profile').set(carol.auth).send({ settings: { systemPrompt: 'y'.repeat(8000) } }).expect(200);
      expect(ok.body.data.user.settings.systemPrompt).toHaveLength(8000);
    });

    it('needs credentials', async () => {
      expectError(await t.http().patch('/api/profile').send({ displayName: 'x' }), 401, 'UNAUTHORIZED');
    });
    it('answers a null display name as a client error or a clearing update, never a 500', async () => {
      const res = await t.http().patch('/api/profile').set(carol.auth).send({ displayName: null });
      expect({ status: res.status, code: res.body.error?.code }).not.toEqual({ status: 500, code: 'INTERNAL_ERROR' });
      expect([200, 400]).toContain(res.status);
    });
  });

  describe('provider API keys', () => {
    it('stores keys encrypted, shows only configured/last4 and never the key itself', async () => {
      const dave = await registerUser(t);
      const openai = secret('sk-proj-');
      const claude = secret('sk-ant-api03-');
      const bodies: string[] = [];

      const set = await t.http().post('/api/profile/api-keys').set(dave.auth).send({ openai, claude }).expect(200);
      bodies.push(set.text);
      expect(Object.keys(set.body).sort()).toEqual(ENVELOPE_KEYS);
      expect([...set.body.data.updated].sort()).toEqual(['claude', 'openai']);
      // No verifier exists yet: nothing may be claimed verified, and the client is told why.
      expect(set.body.data.verified).toEqual({ claude: false, openai: false });
      expect(set.body.data.reasons).toEqual({ claude: expect.any(String), openai: expect.any(String) });
      expect(Object.keys(set.body.data).sort()).toEqual(['reasons', 'updated', 'verified']);

      const profile = await t.http().get('/api/profile').set(dave.auth).expect(200);
      bodies.push(profile.text);
      expect(profile.body.data.user.apiKeys).toEqual({
        claude: { configured: true, lastUsed: null, last4: claude.slice(-4) },
        openai: { configured: true, lastUsed: null, last4: openai.slice(-4) },
        google: { configured: false },
      });

      for (const body of bodies) {
        expect(body).not.toContain(openai);
        expect(body).not.toContain(claude);
      }

      const rows = await prisma.providerKey.findMany({ where: { userId: dave.user.id }, orderBy: { provider: 'asc' } });
      expect(rows.map((r) => r.provider)).toEqual(['claude', 'openai']);
      for (const [row, key] of [[rows[0], claude], [rows[1], openai]] as const) {
        expect(row.ciphertext).not.toContain(key);
        expect(Buffer.from(row.ciphertext, 'base64').toString('utf8')).not.toContain(key);
        for (const value of Object.values(row)) expect(value).not.toEqual(key);
        expect(JSON.stringify(row)).not.toContain(key);
        expect(row.last4).toBe(key.slice(-4));
        expect(row.iv).not.toBe('');
        expect(row.authTag).not.toBe('');
      }

      const logs = JSON.stringify(t.logs);
      expect(logs).not.toContain(openai);
      expect(logs).not.toContain(claude);

      const audit = await prisma.auditLog.findMany({ where: { actorId: dave.user.id, action: 'profile.api_key_added' } });
      expect(audit.map((a) => a.target).sort()).toEqual(['claude', 'openai']);
      const auditText = JSON.stringify(audit);
      expect(auditText).not.toContain(openai);
      expect(auditText).not.toContain(claude);
    });

    it('replaces an existing key: new last4, one row per provider', async () => {
      const erin = await registerUser(t);
      const first = secret('sk-proj-');
      const second = secret('sk-proj-');
      await t.http().post('/api/profile/api-keys').set(erin.auth).send({ openai: first }).expect(200);
      const res = await t.http().post('/api/profile/api-keys').set(erin.auth).send({ openai: second }).expect(200);
      expect(res.body.data.updated).toEqual(['openai']);

      const profile = await t.http().get('/api/profile').set(erin.auth).expect(200);
      expect(profile.body.data.user.apiKeys.openai).toEqual({ configured: true, lastUsed: null, last4: second.slice(-4) });
      const rows = await prisma.providerKey.findMany({ where: { userId: erin.user.id } });
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(second);
    });

    it('rejects an empty body, unknown providers, keys with spaces and short keys', async () => {
      const frank = await registerUser(t);
      const empty = await t.http().post('/api/profile/api-keys').set(frank.auth).send({});
      expectError(empty, 400, 'VALIDATION_ERROR');

      const unknown = await t.http().post('/api/profile/api-keys').set(frank.auth).send({ mistral: secret('mk-') });
      expectError(unknown, 400, 'VALIDATION_ERROR');
      expect(unknown.body.error.details.fields.mistral).toBeDefined();

      const spaced = 'sk-proj- has spaces inside';
      const spaces = await t.http().post('/api/profile/api-keys').set(frank.auth).send({ openai: spaced });
      expectError(spaces, 400, 'VALIDATION_ERROR');
      expect(spaces.body.error.details.fields.openai).toBeDefined();
      expect(spaces.text).not.toContain(spaced);

      const short = await t.http().post('/api/profile/api-keys').set(frank.auth).send({ claude: 'sk-1234' });
      expectError(short, 400, 'VALIDATION_ERROR');
      expect(short.body.error.details.fields.claude).toBeDefined();

      const profile = await t.http().get('/api/profile').set(frank.auth).expect(200);
      expect(profile.body.data.user.apiKeys.openai.configured).toBe(false);
      expect(profile.body.data.user.apiKeys.claude.configured).toBe(false);
    });

    it('answers a null key as a client error, never a 500', async () => {
      const uma = await registerUser(t);
      const res = await t.http().post('/api/profile/api-keys').set(uma.auth).send({ openai: null });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'VALIDATION_ERROR' });
      const profile = await t.http().get('/api/profile').set(uma.auth).expect(200);
      expect(profile.body.data.user.apiKeys.openai).toEqual({ configured: false });
    });

    it('deletes a key: 200 {deleted}, then not configured, then 404; unknown provider is 400', async () => {
      const gina = await registerUser(t);
      await t.http().post('/api/profile/api-keys').set(gina.auth).send({ openai: secret('sk-proj-'), claude: secret('sk-ant-') }).expect(200);

      const del = await t.http().delete('/api/profile/api-keys/openai').set(gina.auth).expect(200);
      expect(del.body.data).toEqual({ deleted: 'openai' });
      const profile = await t.http().get('/api/profile').set(gina.auth).expect(200);
      expect(profile.body.data.user.apiKeys.openai).toEqual({ configured: false });
      expect(profile.body.data.user.apiKeys.claude.configured).toBe(true);

      expectError(await t.http().delete('/api/profile/api-keys/openai').set(gina.auth), 404, 'NOT_FOUND');
      const bad = await t.http().delete('/api/profile/api-keys/nope').set(gina.auth);
      expectError(bad, 400, 'VALIDATION_ERROR');
      expect(bad.body.error.details.fields.provider).toBeDefined();

      const removed = await prisma.auditLog.findMany({ where: { actorId: gina.user.id, action: 'profile.api_key_removed' } });
      expect(removed.map((a) => a.target)).toEqual(['openai']);
      expect(await prisma.providerKey.count({ where: { userId: gina.user.id, provider: 'openai' } })).toBe(0);
    });

    it('needs credentials', async () => {
      expectError(await t.http().post('/api/profile/api-keys').send({ openai: secret('sk-') }), 401, 'UNAUTHORIZED');
      expectError(await t.http().delete('/api/profile/api-keys/openai'), 401, 'UNAUTHORIZED');
    });
  });

  describe('isolation between users', () => {
    it("keeps one user's keys and tokens out of another's reach", async () => {
      const alice = await registerUser(t);
      const bob = await registerUser(t);
      const key = secret('sk-proj-');
      await t.http().post('/api/profile/api-keys').set(alice.auth).send({ openai: key }).expect(200);
      const created = await t.http().post('/api/profile/tokens').set(alice.auth).send({ name: 'alice-ci' }).expect(201);
      const { id, token } = created.body.data as { id: string; token: string };

      const bobProfile = await t.http().get('/api/profile').set(bob.auth).expect(200);
      expect(bobProfile.body.data.user.id).toBe(bob.user.id);
      expect(bobProfile.body.data.user.apiKeys).toEqual({
        claude: { configured: false },
        openai: { configured: false },
        google: { configured: false },
      });
      expect(bobProfile.text).not.toContain(key.slice(-4));

      const bobTokens = await t.http().get('/api/profile/tokens').set(bob.auth).expect(200);
      expect(bobTokens.body.data.tokens).toEqual([]);

      expectError(await t.http().delete(`/api/profile/tokens/${id}`).set(bob.auth), 404, 'NOT_FOUND');
      expectError(await t.http().delete('/api/profile/api-keys/openai').set(bob.auth), 404, 'NOT_FOUND');

      // The profile is for sessions only: alice's personal token gets 403 there, her session sees her key.
      expectError(await t.http().get('/api/profile').set('Authorization', `Bearer ${token}`), 403, 'FORBIDDEN');
      const aliceProfile = await t.http().get('/api/profile').set(alice.auth).expect(200);
      expect(aliceProfile.body.data.user.id).toBe(alice.user.id);
      expect(aliceProfile.body.data.user.apiKeys.openai).toMatchObject({ configured: true, last4: key.slice(-4) });
    });
  });

  describe('personal API tokens', () => {
    it('creates a pk_ token shown once, lists it without the secret, authenticates with it and revokes it', async () => {
      const hank = await registerUser(t);
      const created = await t.http().post('/api/profile/tokens').set(hank.auth).send({ name: 'ci-script' }).expect(201);
      expect(Object.keys(created.body).sort()).toEqual(ENVELOPE_KEYS);
      const data = created.body.data as Record<string, string | null>;
      expect(data).toEqual({
        id: expect.stringMatching(UUID),
        name: 'ci-script',
        prefix: expect.stringMatching(/^pk_/),
        token: expect.stringMatching(/^pk_[A-Za-z0-9_-]{20,}$/),
        createdAt: expect.stringMatching(ISO),
        scopes: ['models', 'threads:read', 'threads:write'],
        lastUsedAt: null,
        // Tokens always expire: API_TOKEN_DEFAULT_TTL_DAYS (90) when not asked for.
        expiresAt: expect.stringMatching(ISO),
      });
      const token = data.token!;
      expect(token.startsWith(data.prefix!)).toBe(true);
      expect(data.prefix!.length).toBeLessThan(token.length);

      const list = await t.http().get('/api/profile/tokens').set(hank.auth).expect(200);
      expect(list.body.data.tokens).toEqual([
        { id: data.id, name: 'ci-script', prefix: data.prefix, createdAt: data.createdAt, scopes: data.scopes, lastUsedAt: null, expiresAt: data.expiresAt },
      ]);
      expect(list.text).not.toContain(token);

      const me = await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`).expect(200);
      expect(me.body.data.threads).toEqual([]);
      const afterUse = await t.http().get('/api/profile/tokens').set(hank.auth).expect(200);
      expect(afterUse.body.data.tokens[0].lastUsedAt).toMatch(ISO);

      const revoked = await t.http().delete(`/api/profile/tokens/${data.id}`).set(hank.auth).expect(200);
      expect(revoked.body.data).toEqual({ revoked: data.id });
      expectError(await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`), 401, 'UNAUTHORIZED');
      const empty = await t.http().get('/api/profile/tokens').set(hank.auth).expect(200);
      expect(empty.body.data.tokens).toEqual([]);
      expectError(await t.http().delete(`/api/profile/tokens/${data.id}`).set(hank.auth), 404, 'NOT_FOUND');

      expect(JSON.stringify(t.logs)).not.toContain(token);
      const audit = await prisma.auditLog.findMany({ where: { actorId: hank.user.id, action: { in: ['profile.token_created', 'profile.token_revoked'] } } });
      expect(audit.map((a) => a.action).sort()).toEqual(['profile.token_created', 'profile.token_revoked']);
      expect(JSON.stringify(audit)).not.toContain(token);
    });

    it('stores only a hash of the token', async () => {
      const ivy = await registerUser(t);
      const created = await t.http().post('/api/profile/tokens').set(ivy.auth).send({ name: 'hash-check' }).expect(201);
      const token = created.body.data.token as string;
      const rows = await prisma.apiToken.findMany({ where: { userId: ivy.user.id } });
      expect(rows).toHaveLength(1);
      for (const value of Object.values(rows[0])) expect(value).not.toEqual(token);
      expect(JSON.stringify(rows)).not.toContain(token);
      expect(rows[0].tokenHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('sets expiresAt from expiresInDays and refuses an expired token', async () => {
      const jack = await registerUser(t);
      const before = Date.now();
      const created = await t.http().post('/api/profile/tokens').set(jack.auth).send({ name: 'short-lived', expiresInDays: 30 }).expect(201);
      const expiresAt = Date.parse(created.body.data.expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 1000);

      const token = created.body.data.token as string;
      await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`).expect(200);
      await prisma.apiToken.update({ where: { id: created.body.data.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      // The row changed behind the app's back: its credential cache is told, as every change through the API tells it.
      await t.app.get(CredentialCache).forgetUser(jack.user.id);
      expectError(await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`), 401, 'UNAUTHORIZED');
    });

    it('validates the request and the id', async () => {
      const kate = await registerUser(t);
      for (const expiresInDays of [0, 400, '7', 1.5]) {
        const res = await t.http().post('/api/profile/tokens').set(kate.auth).send({ name: 'x', expiresInDays });
        expectError(res, 400, 'VALIDATION_ERROR');
        expect(res.body.error.details.fields.expiresInDays).toBeDefined();
      }
      for (const body of [{}, { name: '' }, { name: 42 }, { name: 'x'.repeat(101) }]) {
        const res = await t.http().post('/api/profile/tokens').set(kate.auth).send(body);
        expectError(res, 400, 'VALIDATION_ERROR');
        expect(res.body.error.details.fields.name).toBeDefined();
      }
      const unknown = await t.http().post('/api/profile/tokens').set(kate.auth).send({ name: 'x', scopes: ['admin'] });
      expectError(unknown, 400, 'VALIDATION_ERROR');

      const malformed = await t.http().delete('/api/profile/tokens/not-a-uuid').set(kate.auth);
      expectError(malformed, 400, 'VALIDATION_ERROR');
      expect(malformed.body.error.details.fields.id).toBeDefined();
      expectError(await t.http().delete('/api/profile/tokens/00000000-0000-4000-8000-000000000000').set(kate.auth), 404, 'NOT_FOUND');

      const list = await t.http().get('/api/profile/tokens').set(kate.auth).expect(200);
      expect(list.body.data.tokens).toEqual([]);
    });

    it('needs credentials', async () => {
      expectError(await t.http().post('/api/profile/tokens').send({ name: 'x' }), 401, 'UNAUTHORIZED');
      expectError(await t.http().get('/api/profile/tokens'), 401, 'UNAUTHORIZED');
    });
  });

  describe('POST /api/profile/password', () => {
    it('refuses a wrong current password with 401 INVALID_CREDENTIALS', async () => {
      const leo = await registerUser(t);
      const res = await t.http().post('/api/profile/password').set(leo.auth).send({ currentPassword: 'wrong password!', newPassword: 'a brand new secret' });
      expectError(res, 401, 'INVALID_CREDENTIALS');
      await login(t, leo.user.username, DEFAULT_PASSWORD);
    });

    it('refuses a new password equal to the username, or too short', async () => {
      const mia = await registerUser(t);
      const same = await t.http().post('/api/profile/password').set(mia.auth).send({ currentPassword: DEFAULT_PASSWORD, newPassword: mia.user.username.toUpperCase() });
      expectError(same, 400, 'VALIDATION_ERROR');
      const short = await t.http().post('/api/profile/password').set(mia.auth).send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'short' });
      expectError(short, 400, 'VALIDATION_ERROR');
      expect(short.body.error.details.fields.newPassword).toBeDefined();
      await login(t, mia.user.username, DEFAULT_PASSWORD);
    });

    it('changes the password and signs out every other session, keeping the current one', async () => {
      const nina = await registerUser(t);
      const other = await login(t, nina.user.username, DEFAULT_PASSWORD);
      const newPassword = 'another long passphrase 42';

      const res = await t.http().post('/api/profile/password').set(nina.auth).send({ currentPassword: DEFAULT_PASSWORD, newPassword }).expect(200);
      expect(res.body.data).toEqual({ message: expect.any(String) });

      const old = await t.http().post('/api/login').send({ username: nina.user.username, password: DEFAULT_PASSWORD });
      expectError(old, 401, 'INVALID_CREDENTIALS');
      await login(t, nina.user.username, newPassword);

      const otherRefresh = await t.http().post('/api/refresh').set('Cookie', `refresh_token=${other.refreshToken}`);
      expect(otherRefresh.status).toBe(401);
      expect(otherRefresh.body.success).toBe(false);

      await t.http().get('/api/profile').set(nina.auth).expect(200);
      const ownRefresh = await t.http().post('/api/refresh').set('Cookie', `refresh_token=${nina.refreshToken}`).expect(200);
      expect(ownRefresh.body.data.user.id).toBe(nina.user.id);

      const audit = await prisma.auditLog.findMany({ where: { actorId: nina.user.id, action: 'auth.password_changed' } });
      expect(audit).toHaveLength(1);
      expect(JSON.stringify(audit)).not.toContain(newPassword);
      expect(JSON.stringify(t.logs)).not.toContain(newPassword);
    });

    it('needs credentials', async () => {
      expectError(await t.http().post('/api/profile/password').send({ currentPassword: 'x', newPassword: 'yyyyyyyyyyyy' }), 401, 'UNAUTHORIZED');
    });
  });

  describe('rate limits', () => {
    it('puts the X-RateLimit headers on a profile read', async () => {
      const olga = await registerUser(t);
      const res = await t.http().get('/api/profile').set(olga.auth).expect(200);
      const now = Math.floor(Date.now() / 1000);
      expect(res.headers['x-ratelimit-limit']).toBe('60');
      expect(res.headers['x-ratelimit-remaining']).toBe('59');
      expect(res.headers['x-ratelimit-window']).toBe('60');
      const reset = Number(res.headers['x-ratelimit-reset']);
      expect(Number.isInteger(reset)).toBe(true);
      expect(reset).toBeGreaterThanOrEqual(now);
      expect(reset).toBeLessThanOrEqual(now + 61);

      const again = await t.http().get('/api/profile').set(olga.auth).expect(200);
      expect(again.headers['x-ratelimit-remaining']).toBe('58');
    });

    it('answers the 6th key upload of a minute with 429 RATE_LIMITED and Retry-After, for that user only', async () => {
      const pete = await registerUser(t);
      for (let i = 1; i <= 5; i++) {
        const ok = await t.http().post('/api/profile/api-keys').set(pete.auth).send({ google: secret('AIza') }).expect(200);
        expect(ok.headers['x-ratelimit-limit']).toBe('5');
        expect(ok.headers['x-ratelimit-remaining']).toBe(String(5 - i));
      }
      const limited = await t.http().post('/api/profile/api-keys').set(pete.auth).send({ google: secret('AIza') });
      expectError(limited, 429, 'RATE_LIMITED');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers['x-ratelimit-remaining']).toBe('0');

      const quinn = await registerUser(t);
      await t.http().post('/api/profile/api-keys').set(quinn.auth).send({ google: secret('AIza') }).expect(200);
    });
  });
});
