import { JwtService } from '@nestjs/jwt';
import { createHash } from 'node:crypto';
import { PrismaService } from '../src/infra/database/prisma.service';
import { PasswordService } from '../src/modules/auth/password.service';
import {
  createTestApp,
  DEFAULT_PASSWORD,
  login,
  registerUser,
  sessionFrom,
  SignedIn,
  TEST_DATABASE_URL,
  TestApp,
} from './support/test-app';

const jwt = new JwtService();
const kidOf = (secret: string) => createHash('sha256').update(secret).digest('hex').slice(0, 12);

describe('Auth (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;

  beforeAll(async () => {
    t = await createTestApp();
    prisma = t.app.get(PrismaService);
  });
  afterAll(() => t.close());

  describe('register → login → profile → refresh → logout', () => {
    it('walks the whole session life cycle', async () => {
      const username = `Walk.${Date.now()}@Example.com`;
      const reg = await t.http().post('/api/register').send({ username, password: DEFAULT_PASSWORD, displayName: 'Walker' }).expect(201);
      expect(reg.body.data).toEqual({
        user: { id: expect.any(String), username: username.toLowerCase(), displayName: 'Walker', role: 'user', createdAt: expect.any(String) },
        expiresIn: 900,
      });
      const registered = sessionFrom(reg);
      await t.http().get('/api/profile').set('Cookie', registered.cookies).expect(200);

      const session = await login(t, username.toUpperCase(), DEFAULT_PASSWORD);
      const profile = await t.http().get('/api/profile').set('Cookie', `access_token=${session.accessToken}`).expect(200);
      expect(profile.body.data.user.username).toBe(username.toLowerCase());

      const refreshed = await t.http().post('/api/refresh').set('Cookie', `refresh_token=${session.refreshToken}`).send({}).expect(200);
      const next = sessionFrom(refreshed);
      expect(next.refreshToken).not.toBe(session.refreshToken);
      expect(next.accessToken).not.toBe(session.accessToken);
      await t.http().get('/api/profile').set(next.auth).expect(200);

      const out = await t.http().post('/api/logout').set('Cookie', next.cookies).send({}).expect(200);
      expect(out.body.data).toEqual({ message: 'Successfully logged out' });
      const cleared = out.headers['set-cookie'] as unknown as string[];
      expect(cleared.find((c) => c.startsWith('access_token=;'))).toMatch(/Expires=Thu, 01 Jan 1970/);
      expect(cleared.find((c) => c.startsWith('refresh_token=;'))).toBeDefined();
      // The session is over server-side too: neither its refresh nor its access token works.
      await t.http().post('/api/refresh').send({ refreshToken: next.refreshToken }).expect(401);
      await t.http().get('/api/profile').set(next.auth).expect(401);
    });

    it('sets httpOnly, SameSite=Lax, path-scoped cookies (not Secure outside production)', async () => {
      const res = await t.http().post('/api/register').send({ username: `cookie.${Date.now()}@example.com`, password: DEFAULT_PASSWORD }).expect(201);
      const cookies = res.headers['set-cookie'] as unknown as string[];
      const access = cookies.find((c) => c.startsWith('access_token='))!;
      const refresh = cookies.find((c) => c.startsWith('refresh_token='))!;
      expect(access).toMatch(/HttpOnly/);
      expect(access).toMatch(/SameSite=Lax/);
      expect(access).toMatch(/Path=\/;/);
      expect(refresh).toMatch(/HttpOnly/);
      expect(refresh).toMatch(/Path=\/api\/refresh/);
      expect(access).not.toMatch(/Secure/);
    });

    it('signs the access token as seed 001 says: HS256, sub, username, scope, iat, exp, key id, 15 minutes', async () => {
      const s = await registerUser(t);
      const decoded = jwt.decode(s.accessToken, { complete: true }) as unknown as { header: Record<string, unknown>; payload: Record<string, unknown> };
      expect(decoded.header).toMatchObject({ alg: 'HS256', kid: kidOf(t.config.jwtSecret) });
      expect(decoded.payload).toMatchObject({ sub: s.user.id, username: s.user.username, scope: ['read', 'write'] });
      expect((decoded.payload.exp as number) - (decoded.payload.iat as number)).toBe(900);
    });
  });

  describe('access tokens', () => {
    let alice: SignedIn;
    beforeAll(async () => {
      alice = await registerUser(t);
    });

    it('accepts Authorization: Bearer wherever the cookie works', async () => {
      const res = await t.http().get('/api/profile').set(alice.auth).expect(200);
      expect(res.body.data.user.id).toBe(alice.user.id);
    });

    it('rejects missing, malformed, tampered and expired tokens with 401 UNAUTHORIZED', async () => {
      const [header, payload, signature] = alice.accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const tampered = [header, Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url'), signature].join('.');
      const expired = jwt.sign(
        { ...claims, iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 60 },
        { secret: t.config.jwtSecret, keyid: kidOf(t.config.jwtSecret), algorithm: 'HS256' },
      );
      const unsigned = [Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'), payload, ''].join('.');
      const foreign = jwt.sign(claims, { secret: 'x'.repeat(48), keyid: kidOf(t.config.jwtSecret), algorithm: 'HS256' });

      for (const headers of [
        {},
        { Authorization: 'Bearer' },
        { Authorization: 'Bearer not.a.jwt' },
        { Authorization: `Bearer ${tampered}` },
        { Authorization: `Bearer ${expired}` },
        { Authorization: `Bearer ${unsigned}` },
        { Authorization: `Bearer ${foreign}` },
        { Cookie: `access_token=${tampered}` },
      ]) {
        const res = await t.http().get('/api/profile').set(headers).expect(401);
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
    });

    it('stops accepting the token of a deleted user at once', async () => {
      const bob = await registerUser(t);
      await prisma.user.delete({ where: { id: bob.user.id } });
      await t.http().get('/api/profile').set(bob.auth).expect(401);
    });
  });

  describe('refresh rotation', () => {
    it('rotates on every use and revokes the whole family when an old token is replayed', async () => {
      const first = await registerUser(t);
      const second = sessionFrom(await t.http().post('/api/refresh').send({ refreshToken: first.refreshToken }).expect(200));
      const third = sessionFrom(await t.http().post('/api/refresh').set('Cookie', `refresh_token=${second.refreshToken}`).expect(200));

      // Replaying the first (already rotated) token: refused, and the newest token dies with it.
      const replay = await t.http().post('/api/refresh').send({ refreshToken: first.refreshToken }).expect(401);
      expect(replay.body.error.code).toBe('INVALID_REFRESH_TOKEN');
      await t.http().post('/api/refresh').send({ refreshToken: third.refreshToken }).expect(401);
      await t.http().get('/api/profile').set(third.auth).expect(401);

      const audit = await prisma.auditLog.findMany({ where: { action: 'auth.refresh_reuse', actorId: first.user.id } });
      expect(audit).toHaveLength(1);
      expect(JSON.stringify(audit)).not.toContain(first.refreshToken);
    });

    it('stores refresh tokens hashed', async () => {
      const s = await registerUser(t);
      const rows = await prisma.refreshToken.findMany({ where: { userId: s.user.id } });
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(s.refreshToken);
    });

    it('refuses unknown, missing and malformed refresh tokens', async () => {
      await t.http().post('/api/refresh').send({}).expect(401);
      await t.http().post('/api/refresh').send({ refreshToken: 'nope' }).expect(401);
      const bad = await t.http().post('/api/refresh').send({ refreshToken: 42 }).expect(400);
      expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    });

    it('ends a session at logout even when its access token has expired', async () => {
      const s = await registerUser(t);
      const claims = jwt.decode(s.accessToken) as Record<string, unknown>;
      const expired = jwt.sign(
        { ...claims, iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 60 },
        { secret: t.config.jwtSecret, keyid: kidOf(t.config.jwtSecret), algorithm: 'HS256' },
      );
      await t.http().post('/api/logout').set('Cookie', `access_token=${expired}`).expect(200);
      await t.http().post('/api/refresh').send({ refreshToken: s.refreshToken }).expect(401);
    });
  });

  describe('sign-in failures', () => {
    it('answers unknown users and wrong passwords alike, and audits both without the password', async () => {
      const s = await registerUser(t);
      const wrong = await t.http().post('/api/login').send({ username: s.user.username, password: 'wrong-password-1' }).expect(401);
      const unknown = await t.http().post('/api/login').send({ username: 'nobody@example.com', password: 'wrong-password-1' }).expect(401);
      expect(wrong.body.error).toEqual(unknown.body.error);
      expect(wrong.body.error).toEqual({ code: 'INVALID_CREDENTIALS', message: 'Invalid username or password' });
      const rows = await prisma.auditLog.findMany({ where: { action: 'auth.login_failed' } });
      expect(rows.map((r) => (r.metadata as { reason: string }).reason)).toEqual(expect.arrayContaining(['wrong_password', 'unknown_user']));
      expect(JSON.stringify(rows)).not.toContain('wrong-password-1');
    });

    it('slows down one address after repeated failures (429 + Retry-After, audited) without ever locking the account', async () => {
      const s = await registerUser(t);
      for (let i = 0; i < 4; i++) {
        await t.http().post('/api/login').send({ username: s.user.username, password: `wrong-password-${i}` }).expect(401);
      }
      const delayed = await t.http().post('/api/login').send({ username: s.user.username, password: DEFAULT_PASSWORD }).expect(429);
      expect(delayed.body.error.code).toBe('RATE_LIMITED');
      expect(delayed.body.error.details.retryAfterSeconds).toBeGreaterThan(0);
      expect(Number(delayed.headers['retry-after'])).toBe(delayed.body.error.details.retryAfterSeconds);
      expect(await prisma.auditLog.count({ where: { action: 'auth.login_delayed', actorId: s.user.id } })).toBe(1);
      expect((await prisma.user.findUniqueOrThrow({ where: { id: s.user.id } })).lockedUntil).toBeNull();

      await new Promise((resolve) => setTimeout(resolve, delayed.body.error.details.retryAfterSeconds * 1000 + 50));
      await login(t, s.user.username, DEFAULT_PASSWORD);
    });
  });

  describe('registration rules', () => {
    it.each([
      [{ username: 'not-an-email', password: DEFAULT_PASSWORD }, 'username'],
      [{ username: 'short@example.com', password: 'short' }, 'password'],
      [{ username: 'same.as.password@example.com', password: 'SAME.as.password@example.com' }, 'password'],
      [{ username: 'extra@example.com', password: DEFAULT_PASSWORD, role: 'admin' }, 'role'],
      [{ username: 42, password: DEFAULT_PASSWORD }, 'username'],
      [{ password: DEFAULT_PASSWORD }, 'username'],
    ])('rejects %j with VALIDATION_ERROR on %s', async (body, field) => {
      const res = await t.http().post('/api/register').send(body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(res.body.error.details.fields)).toContain(field);
    });

    it('refuses a taken username with 409 CONFLICT, whatever its case', async () => {
      const s = await registerUser(t);
      const res = await t.http().post('/api/register').send({ username: s.user.username.toUpperCase(), password: DEFAULT_PASSWORD }).expect(409);
      expect(res.body.error.code).toBe('CONFLICT');
    });

    it.each([
      [{}],
      [{ username: 'a@example.com' }],
      [{ username: 'a@example.com', password: 5 }],
      [{ username: ['a'], password: 'x' }],
      [{ username: 'a@example.com', password: 'x', extra: true }],
    ])('rejects login body %j with VALIDATION_ERROR', async (body) => {
      const res = await t.http().post('/api/login').send(body).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    });

    it('seeds the demo admin of seed 003 outside production', async () => {
      const admin = await login(t, 'admin@example.com', 'admin123');
      expect(admin.user.role).toBe('admin');
    });
  });
});

describe('Auth with seed 001 rate limits and production settings (e2e)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('answers the 6th login attempt in a minute from one IP with 429, rate-limit headers and Retry-After', async () => {
    t = await createTestApp({ env: { RATE_LIMITS: '' } });
    for (let i = 1; i <= 5; i++) {
      const res = await t.http().post('/api/login').send({ username: `nobody${i}@example.com`, password: 'whatever-password' }).expect(401);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(5 - i));
      expect(res.headers['x-ratelimit-window']).toBe('60');
      const reset = Number(res.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThan(Date.now() / 1000);
      expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 61);
    }
    const limited = await t.http().post('/api/login').send({ username: 'admin@example.com', password: 'admin123' }).expect(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('keys limits by user once signed in, not by the shared IP', async () => {
    t = await createTestApp({ env: { RATE_LIMITS: 'register=100,profile.read=2' } });
    const a = await registerUser(t);
    const b = await registerUser(t);
    await t.http().get('/api/profile').set(a.auth).expect(200);
    await t.http().get('/api/profile').set(a.auth).expect(200);
    await t.http().get('/api/profile').set(a.auth).expect(429);
    await t.http().get('/api/profile').set(b.auth).expect(200);
  });

  it('never rate limits the probes', async () => {
    t = await createTestApp({ env: { RATE_LIMITS: 'default=1' } });
    for (let i = 0; i < 5; i++) {
      const res = await t.http().get('/api/health/ready').expect(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('marks cookies Secure in production and refuses registration when it is off', async () => {
    t = await createTestApp({ env: { NODE_ENV: 'production', ALLOW_REGISTRATION: 'false' } });
    const closed = await t.http().post('/api/register').send({ username: 'new@example.com', password: DEFAULT_PASSWORD }).expect(403);
    expect(closed.body.error.code).toBe('REGISTRATION_DISABLED');
    // No demo account in production (the shared CI database may hold one from other suites).
    expect(JSON.stringify(t.logs)).not.toContain('demo admin');
    if (!TEST_DATABASE_URL) await t.http().post('/api/login').send({ username: 'admin@example.com', password: 'admin123' }).expect(401);

    const username = `ops.${Date.now()}@example.com`;
    const passwordHash = await t.app.get(PasswordService).hash(DEFAULT_PASSWORD);
    await t.app.get(PrismaService).user.create({ data: { username, passwordHash } });
    const res = await t.http().post('/api/login').send({ username, password: DEFAULT_PASSWORD }).expect(200);
    const cookies = res.headers['set-cookie'] as unknown as string[];
    expect(cookies.filter((c) => /^(access|refresh)_token=/.test(c)).every((c) => /; Secure/.test(c))).toBe(true);
  });

  it('accepts tokens signed with the previous JWT secret during rotation', async () => {
    const oldSecret = 'old-secret-that-is-long-enough-0123456789abcdef';
    t = await createTestApp({ env: { JWT_SECRET: 'new-secret-that-is-long-enough-0123456789abcdef', JWT_SECRET_PREVIOUS: oldSecret } });
    const s = await registerUser(t);
    const claims = jwt.decode(s.accessToken) as Record<string, unknown>;
    const { iat: _iat, exp: _exp, ...rest } = claims;
    const signedWithOld = jwt.sign(rest, { secret: oldSecret, keyid: kidOf(oldSecret), algorithm: 'HS256', expiresIn: 60 });
    await t.http().get('/api/profile').set('Authorization', `Bearer ${signedWithOld}`).expect(200);
  });
});
