import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { PrismaService } from '../src/infra/database/prisma.service';
import { DEMO_PASSWORD, DEMO_USERNAME } from '../src/modules/auth/demo-user.seeder';
import { PasswordService } from '../src/modules/auth/password.service';
import { createTestApp, DEFAULT_PASSWORD, expectError, login, registerUser, SignedIn, TEST_DATABASE_URL, TestApp } from './support/test-app';

/**
 * Admin endpoints (users and audit log) as the demo admin of seed 003 and as a normal user.
 * Sign-up and sign-in limits (5/min per IP) are raised so the suite can use many accounts;
 * the admin limit keeps its default.
 */

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const ADMIN_USER_KEYS = ['createdAt', 'disabled', 'displayName', 'id', 'lockedUntil', 'role', 'updatedAt', 'username'];
const AUDIT_KEYS = ['action', 'actorId', 'actorUsername', 'createdAt', 'id', 'ip', 'metadata', 'requestId', 'target'];

/** Unique per run, so the suite also works against a shared PostgreSQL. */
const RUN = randomBytes(4).toString('hex');
let seq = 0;
const email = (label: string) => `${label}-${RUN}-${++seq}@example.com`;
const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** createdAt descending, then id descending: the order both lists promise. */
function expectNewestFirst(rows: Array<{ id: string; createdAt: string }>): void {
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1], rows[i]];
    const ordered = a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id);
    expect({ i, ordered, a, b }).toEqual({ i, ordered: true, a, b });
  }
}

describe('Admin (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let admin: SignedIn;
  let normal: SignedIn;
  /** Every password and token this suite sends: none may show up in an admin answer. */
  const secrets: string[] = [DEMO_PASSWORD, DEFAULT_PASSWORD];

  const asAdmin = () => {
    const http = t.http();
    return {
      get: (url: string) => http.get(url).set(admin.auth),
      post: (url: string) => t.http().post(url).set(admin.auth),
      patch: (url: string) => t.http().patch(url).set(admin.auth),
      delete: (url: string) => t.http().delete(url).set(admin.auth),
    };
  };

  async function createUser(overrides: Record<string, unknown> = {}) {
    const password = `pw ${randomBytes(9).toString('base64url')}`;
    secrets.push(password);
    const body = { username: email('made'), password, ...overrides };
    const res = await asAdmin().post('/api/admin/users').send(body).expect(201);
    return { user: res.body.data.user as Record<string, unknown> & { id: string; username: string }, password: body.password as string, res };
  }

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMITS: 'register=1000,login=1000,refresh=1000,admin=100000' } });
    prisma = t.app.get(PrismaService);
    if (TEST_DATABASE_URL) {
      // A shared database may already hold users, so the demo seeder did not run.
      const passwordHash = await t.app.get(PasswordService).hash(DEMO_PASSWORD);
      await prisma.user.upsert({
        where: { username: DEMO_USERNAME },
        create: { username: DEMO_USERNAME, passwordHash, role: 'admin', displayName: 'Demo Admin' },
        update: { passwordHash, role: 'admin', disabledAt: null, lockedUntil: null, failedLoginCount: 0 },
      });
    }
    admin = await login(t, DEMO_USERNAME, DEMO_PASSWORD);
    normal = await registerUser(t);
    secrets.push(admin.accessToken, admin.refreshToken, normal.accessToken, normal.refreshToken);
  });
  afterAll(() => t.close());

  describe('access control', () => {
    const routes = (id: string): Array<[string, string, object?]> => [
      ['get', '/api/admin/users'],
      ['post', '/api/admin/users', { username: email('blocked'), password: 'long enough password' }],
      ['get', `/api/admin/users/${id}`],
      ['patch', `/api/admin/users/${id}`, { role: 'admin' }],
      ['delete', `/api/admin/users/${id}`],
      ['get', '/api/admin/audit'],
    ];

    it('answers 403 FORBIDDEN to a normal user on every admin route', async () => {
      for (const [method, url, body] of routes(normal.user.id)) {
        const req = (t.http() as any)[method](url).set(normal.auth);
        const res = await (body ? req.send(body) : req);
        expectError(res, 403, 'FORBIDDEN');
      }
      const profile = await t.http().get('/api/profile').set(normal.auth).expect(200);
      expect(profile.body.data.user.role).toBe('user');
      expect(await prisma.user.count({ where: { username: { startsWith: 'blocked-' } } })).toBe(0);
    });

    it("answers 403 to a normal user's personal token too", async () => {
      const created = await t.http().post('/api/profile/tokens').set(normal.auth).send({ name: 'not-admin' }).expect(201);
      secrets.push(created.body.data.token);
      expectError(await t.http().get('/api/admin/users').set('Authorization', `Bearer ${created.body.data.token}`), 403, 'FORBIDDEN');
    });

    it('answers 401 UNAUTHORIZED without credentials', async () => {
      for (const [method, url, body] of routes(normal.user.id)) {
        const req = (t.http() as any)[method](url);
        const res = await (body ? req.send(body) : req);
        expectError(res, 401, 'UNAUTHORIZED');
      }
    });
  });

  describe('GET /api/admin/users', () => {
    it('pages through every user with limit=2, newest first, without duplicates or password hashes', async () => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push((await createUser({ username: email('page') })).user.id);

      const seen: Array<{ id: string; createdAt: string }> = [];
      let cursor: string | null | undefined;
      let pages = 0;
      // Other suites share the database on PostgreSQL: the page count follows from the users there are.
      const maxPages = Math.ceil((await prisma.user.count()) / 2);
      for (;;) {
        const res = await asAdmin().get(`/api/admin/users?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).expect(200);
        pages++;
        expect(res.text).not.toMatch(/passwordHash|password_hash|"password"/i);
        expect(Object.keys(res.body).sort()).toEqual(['data', 'pagination', 'requestId', 'success', 'timestamp']);
        const { users } = res.body.data as { users: Array<Record<string, string>> };
        const { pagination } = res.body;
        expect(pagination.limit).toBe(2);
        expect(users.length).toBeLessThanOrEqual(2);
        for (const u of users) expect(Object.keys(u).sort()).toEqual(ADMIN_USER_KEYS);
        seen.push(...users.map((u) => ({ id: u.id, createdAt: u.createdAt })));
        if (!pagination.hasMore) {
          expect(pagination.cursor).toBeNull();
          break;
        }
        expect(users).toHaveLength(2);
        expect(pagination.cursor).toEqual(expect.any(String));
        cursor = pagination.cursor;
        expect(pages).toBeLessThan(maxPages);
      }

      const ids = seen.map((s) => s.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining([...created, admin.user.id, normal.user.id]));
      expectNewestFirst(seen);
      // The newest five users are the ones just made, newest first.
      if (!TEST_DATABASE_URL) {
        expect(ids.length).toBe(await prisma.user.count());
        expect(ids.slice(0, 5)).toEqual([...created].reverse());
      }
    });

    it('filters by part of a username, case-insensitively', async () => {
      const res = await asAdmin().get(`/api/admin/users?limit=100&q=PAGE-${RUN.toUpperCase()}`).expect(200);
      expect(res.body.data.users).toHaveLength(5);
      for (const u of res.body.data.users) expect(u.username).toContain(`page-${RUN}`);
      expect(res.body.pagination).toEqual({ cursor: null, limit: 100, hasMore: false });
    });

    it.each([
      ['not base64 JSON', 'abc'],
      ['a value that is no date and an id that is no uuid', b64url({ v: 'x', id: '1' })],
      ['a date with an id that is no uuid', b64url({ v: '2024-01-01T00:00:00.000Z', id: '1' })],
      ['a uuid with a value that is no date', b64url({ v: 'yesterday', id: UNKNOWN_ID })],
      ['JSON null', b64url('null')],
      ['a JSON array', b64url([])],
    ])('rejects a forged cursor (%s) with VALIDATION_ERROR', async (_label, cursor) => {
      const res = await asAdmin().get(`/api/admin/users?cursor=${encodeURIComponent(cursor)}`);
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields.cursor).toBeDefined();
    });

    it.each(['0', '101', 'abc', '1.5', '-1'])('rejects limit=%s with VALIDATION_ERROR', async (limit) => {
      const res = await asAdmin().get(`/api/admin/users?limit=${limit}`);
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields.limit).toBeDefined();
    });

    it('rejects unknown query parameters', async () => {
      expectError(await asAdmin().get('/api/admin/users?role=admin'), 400, 'VALIDATION_ERROR');
    });
  });

  describe('creating, reading, updating and deleting users', () => {
    it('creates a user (201) who can then sign in', async () => {
      const username = email('Created');
      const { user, password, res } = await createUser({ username, displayName: '  New Person  ' });
      expect(res.status).toBe(201);
      expect(res.body.data).toEqual({
        user: {
          id: expect.stringMatching(UUID),
          username: username.toLowerCase(),
          displayName: 'New Person',
          role: 'user',
          disabled: false,
          lockedUntil: null,
          createdAt: expect.stringMatching(ISO),
          updatedAt: expect.stringMatching(ISO),
        },
      });
      expect(res.text).not.toContain(password);
      const session = await login(t, username, password);
      expect(session.user.id).toBe(user.id);

      const audit = await prisma.auditLog.findMany({ where: { action: 'admin.user_created', target: user.id } });
      expect(audit).toHaveLength(1);
      expect(audit[0].actorId).toBe(admin.user.id);
      expect(JSON.stringify(audit)).not.toContain(password);
    });

    it('creates an admin when asked, who can use the admin routes', async () => {
      const { user, password } = await createUser({ role: 'admin' });
      expect(user.role).toBe('admin');
      const session = await login(t, user.username, password);
      await t.http().get('/api/admin/users?limit=1').set(session.auth).expect(200);
    });

    it('refuses a duplicate username (any case) with 409 CONFLICT', async () => {
      const { user } = await createUser();
      const res = await asAdmin().post('/api/admin/users').send({ username: user.username.toUpperCase(), password: 'another long password' });
      expectError(res, 409, 'CONFLICT');
      expect(await prisma.user.count({ where: { username: user.username } })).toBe(1);
    });

    it.each([
      ['an invalid email', { username: 'not-an-email', password: 'long enough password' }, 'username'],
      ['a missing password', { username: 'x@example.com' }, 'password'],
      ['a short password', { username: 'x@example.com', password: 'short' }, 'password'],
      ['an unknown role', { username: 'x@example.com', password: 'long enough password', role: 'root' }, 'role'],
      ['an unknown field', { username: 'x@example.com', password: 'long enough password', disabled: true }, 'disabled'],
    ])('refuses %s with 400 VALIDATION_ERROR', async (_label, body, field) => {
      const res = await asAdmin().post('/api/admin/users').send(body);
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.body.error.details.fields[field]).toBeDefined();
    });

    it('refuses a password equal to the username', async () => {
      const username = email('same');
      const res = await asAdmin().post('/api/admin/users').send({ username, password: username });
      expectError(res, 400, 'VALIDATION_ERROR');
    });

    it('gets a user by id; unknown id is 404, malformed id is 400', async () => {
      const { user } = await createUser({ displayName: 'Lookup' });
      const res = await asAdmin().get(`/api/admin/users/${user.id}`).expect(200);
      expect(res.body.data).toEqual({ user });
      expect(res.text).not.toMatch(/password/i);

      expectError(await asAdmin().get(`/api/admin/users/${UNKNOWN_ID}`), 404, 'NOT_FOUND');
      const malformed = await asAdmin().get('/api/admin/users/123');
      expectError(malformed, 400, 'VALIDATION_ERROR');
      expect(malformed.body.error.details.fields.id).toBeDefined();
    });

    it('updates display name and role; a promotion or demotion applies to existing sessions at once', async () => {
      const { user, password } = await createUser();
      const session = await login(t, user.username, password);
      expectError(await t.http().get('/api/admin/users?limit=1').set(session.auth), 403, 'FORBIDDEN');

      const promoted = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ displayName: 'Promoted', role: 'admin' }).expect(200);
      expect(promoted.body.data.user).toMatchObject({ id: user.id, displayName: 'Promoted', role: 'admin', disabled: false });
      await t.http().get('/api/admin/users?limit=1').set(session.auth).expect(200);

      const demoted = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ role: 'user' }).expect(200);
      expect(demoted.body.data.user).toMatchObject({ displayName: 'Promoted', role: 'user' });
      expectError(await t.http().get('/api/admin/users?limit=1').set(session.auth), 403, 'FORBIDDEN');

      const got = await asAdmin().get(`/api/admin/users/${user.id}`).expect(200);
      expect(got.body.data.user).toMatchObject({ displayName: 'Promoted', role: 'user' });
    });

    it('validates updates', async () => {
      const { user } = await createUser();
      for (const body of [{ role: 'root' }, { disabled: 'yes' }, { password: 'short' }, { username: 'new@example.com' }]) {
        expectError(await asAdmin().patch(`/api/admin/users/${user.id}`).send(body), 400, 'VALIDATION_ERROR');
      }
      expectError(await asAdmin().patch(`/api/admin/users/${user.id}`).send({ password: user.username }), 400, 'VALIDATION_ERROR');
      expectError(await asAdmin().patch(`/api/admin/users/${UNKNOWN_ID}`).send({ displayName: 'x' }), 404, 'NOT_FOUND');
      expectError(await asAdmin().patch('/api/admin/users/nope').send({ displayName: 'x' }), 400, 'VALIDATION_ERROR');
    });

    it('answers null fields as client errors, never a 500, and never reads null as false', async () => {
      const { user } = await createUser({ displayName: 'Has a name' });
      const res = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ displayName: null });
      expect({ status: res.status, code: res.body.error?.code }).not.toEqual({ status: 500, code: 'INTERNAL_ERROR' });
      expect([200, 400]).toContain(res.status);

      await asAdmin().patch(`/api/admin/users/${user.id}`).send({ disabled: true }).expect(200);
      const nulled = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ disabled: null });
      expectError(nulled, 400, 'VALIDATION_ERROR');
      const after = await asAdmin().get(`/api/admin/users/${user.id}`).expect(200);
      expect(after.body.data.user.disabled).toBe(true);
    });

    it('disabling signs the user out everywhere and blocks sign-in; re-enabling allows it again', async () => {
      const { user, password } = await createUser();
      const session = await login(t, user.username, password);
      secrets.push(session.accessToken, session.refreshToken);
      const pk = await t.http().post('/api/profile/tokens').set(session.auth).send({ name: 'before-disable' }).expect(201);
      const token = pk.body.data.token as string;
      secrets.push(token);
      await t.http().get('/api/profile').set(session.auth).expect(200);
      await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`).expect(200);

      const disabled = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ disabled: true }).expect(200);
      expect(disabled.body.data.user.disabled).toBe(true);

      expectError(await t.http().get('/api/profile').set(session.auth), 401, 'UNAUTHORIZED');
      expectError(await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`), 401, 'UNAUTHORIZED');
      const refresh = await t.http().post('/api/refresh').set('Cookie', `refresh_token=${session.refreshToken}`);
      expect(refresh.status).toBe(401);
      expectError(await t.http().post('/api/login').send({ username: user.username, password }), 401, 'INVALID_CREDENTIALS');
      expect((await asAdmin().get(`/api/admin/users/${user.id}`).expect(200)).body.data.user.disabled).toBe(true);

      const enabled = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ disabled: false }).expect(200);
      expect(enabled.body.data.user.disabled).toBe(false);
      const again = await login(t, user.username, password);
      await t.http().get('/api/profile').set(again.auth).expect(200);
      // Sessions and personal tokens ended by the disable stay ended.
      expectError(await t.http().get('/api/threads').set('Authorization', `Bearer ${token}`), 401, 'UNAUTHORIZED');
    });

    it('resets a password: the old one stops working, sessions end, the new one signs in', async () => {
      const { user, password } = await createUser();
      const session = await login(t, user.username, password);
      const newPassword = `reset ${randomBytes(9).toString('base64url')}`;
      secrets.push(newPassword);

      const res = await asAdmin().patch(`/api/admin/users/${user.id}`).send({ password: newPassword }).expect(200);
      expect(res.text).not.toContain(newPassword);
      expectError(await t.http().post('/api/login').send({ username: user.username, password }), 401, 'INVALID_CREDENTIALS');
      expect((await t.http().post('/api/refresh').set('Cookie', `refresh_token=${session.refreshToken}`)).status).toBe(401);
      await login(t, user.username, newPassword);
    });

    it('does not let an admin disable, demote or delete their own account (422)', async () => {
      expectError(await asAdmin().patch(`/api/admin/users/${admin.user.id}`).send({ disabled: true }), 422, 'UNPROCESSABLE');
      expectError(await asAdmin().patch(`/api/admin/users/${admin.user.id}`).send({ role: 'user' }), 422, 'UNPROCESSABLE');
      expectError(await asAdmin().delete(`/api/admin/users/${admin.user.id}`), 422, 'UNPROCESSABLE');

      const self = await asAdmin().get(`/api/admin/users/${admin.user.id}`).expect(200);
      expect(self.body.data.user).toMatchObject({ role: 'admin', disabled: false });
      await login(t, DEMO_USERNAME, DEMO_PASSWORD);
    });

    it('deletes a user: 200 {deletedUser}, then 404, their sessions and sign-in gone', async () => {
      const { user, password } = await createUser();
      const session = await login(t, user.username, password);

      const res = await asAdmin().delete(`/api/admin/users/${user.id}`).expect(200);
      expect(res.body.data).toEqual({ deletedUser: user.id });

      expectError(await asAdmin().get(`/api/admin/users/${user.id}`), 404, 'NOT_FOUND');
      expectError(await asAdmin().delete(`/api/admin/users/${user.id}`), 404, 'NOT_FOUND');
      expectError(await asAdmin().delete('/api/admin/users/not-a-uuid'), 400, 'VALIDATION_ERROR');
      expectError(await t.http().get('/api/profile').set(session.auth), 401, 'UNAUTHORIZED');
      expectError(await t.http().post('/api/login').send({ username: user.username, password }), 401, 'INVALID_CREDENTIALS');

      const audit = await prisma.auditLog.findMany({ where: { action: 'admin.user_deleted', target: user.id } });
      expect(audit).toHaveLength(1);
      expect(audit[0].actorId).toBe(admin.user.id);
    });
  });

  describe('GET /api/admin/audit', () => {
    let subject: { id: string; username: string };
    let subjectLoginIds: string[];

    beforeAll(async () => {
      const made = await createUser();
      subject = made.user;
      subjectLoginIds = [];
      for (let i = 0; i < 4; i++) {
        const res = await t.http().post('/api/login').send({ username: subject.username, password: made.password }).expect(200);
        subjectLoginIds.push(res.headers['x-request-id']);
        await pause(5);
      }
      const wrong = `wrong ${randomBytes(6).toString('hex')}`;
      secrets.push(wrong);
      await t.http().post('/api/login').send({ username: subject.username, password: wrong }).expect(401);
    });

    it('lists entries newest first with action, actor, ip, request id and time', async () => {
      await pause(10);
      const created = await createUser();
      const res = await asAdmin().get('/api/admin/audit?limit=100').expect(200);
      const entries = res.body.data.entries as Array<Record<string, any>>;
      expect(entries.length).toBeGreaterThan(5);
      for (const e of entries) {
        expect(Object.keys(e).sort()).toEqual(AUDIT_KEYS);
        expect(e.createdAt).toMatch(ISO);
        expect(typeof e.action).toBe('string');
      }
      expectNewestFirst(entries as Array<{ id: string; createdAt: string }>);

      const entry = entries.find((e) => e.action === 'admin.user_created' && e.target === created.user.id);
      expect(entry).toEqual({
        id: expect.stringMatching(UUID),
        action: 'admin.user_created',
        actorId: admin.user.id,
        actorUsername: DEMO_USERNAME,
        target: created.user.id,
        ip: expect.any(String),
        requestId: created.res.headers['x-request-id'],
        metadata: { role: 'user' },
        createdAt: expect.stringMatching(ISO),
      });
      if (!TEST_DATABASE_URL) expect(entries[0]).toEqual(entry);

      const lastLogin = entries.find((e) => e.action === 'auth.login' && e.actorId === subject.id);
      expect(lastLogin?.requestId).toBe(subjectLoginIds[subjectLoginIds.length - 1]);
      expect(entries.indexOf(entry!)).toBeLessThan(entries.indexOf(lastLogin!));
    });

    it('filters by action', async () => {
      const res = await asAdmin().get('/api/admin/audit?action=auth.login&limit=100').expect(200);
      const entries = res.body.data.entries as Array<Record<string, any>>;
      expect(entries.length).toBeGreaterThanOrEqual(5);
      expect(new Set(entries.map((e) => e.action))).toEqual(new Set(['auth.login']));
      expect(entries.filter((e) => e.actorId === subject.id).map((e) => e.requestId)).toEqual([...subjectLoginIds].reverse());

      const failed = await asAdmin().get(`/api/admin/audit?action=auth.login_failed&actorId=${subject.id}`).expect(200);
      expect(failed.body.data.entries).toEqual([
        expect.objectContaining({ action: 'auth.login_failed', actorId: subject.id, metadata: { reason: 'wrong_password' } }),
      ]);

      const none = await asAdmin().get('/api/admin/audit?action=no.such_action').expect(200);
      expect(none.body.data.entries).toEqual([]);
      expect(none.body.pagination).toEqual({ cursor: null, limit: 20, hasMore: false });
    });

    it('pages with a cursor: no duplicates, same entries as one big page', async () => {
      const all = await asAdmin().get(`/api/admin/audit?actorId=${subject.id}&limit=100`).expect(200);
      const expected = (all.body.data.entries as Array<{ id: string }>).map((e) => e.id);
      expect(expected).toHaveLength(5); // four sign-ins and one failure

      const ids: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Response = await asAdmin()
          .get(`/api/admin/audit?actorId=${subject.id}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
          .expect(200);
        pages++;
        expect(res.body.data.entries.length).toBeLessThanOrEqual(2);
        expect(res.body.pagination.limit).toBe(2);
        for (const e of res.body.data.entries) expect(e.actorId).toBe(subject.id);
        ids.push(...res.body.data.entries.map((e: { id: string }) => e.id));
        cursor = res.body.pagination.hasMore ? res.body.pagination.cursor : null;
        if (!res.body.pagination.hasMore) expect(res.body.pagination.cursor).toBeNull();
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(ids).toEqual(expected);
    });

    it('validates its query', async () => {
      expectError(await asAdmin().get('/api/admin/audit?cursor=abc'), 400, 'VALIDATION_ERROR');
      expectError(await asAdmin().get(`/api/admin/audit?cursor=${b64url({ v: 'x', id: '1' })}`), 400, 'VALIDATION_ERROR');
      expectError(await asAdmin().get('/api/admin/audit?actorId=not-a-uuid'), 400, 'VALIDATION_ERROR');
      expectError(await asAdmin().get('/api/admin/audit?limit=101'), 400, 'VALIDATION_ERROR');
      expectError(await asAdmin().get('/api/admin/audit?limit=0'), 400, 'VALIDATION_ERROR');
    });

    it('never shows a password or token used in this suite', async () => {
      const bodies: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Response = await asAdmin().get(`/api/admin/audit?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).expect(200);
        bodies.push(res.text);
        cursor = res.body.pagination.cursor;
        pages++;
      } while (cursor && pages < 10);
      const text = bodies.join('\n');
      expect(text).toContain('auth.login');
      for (const s of secrets) expect(text).not.toContain(s);
      expect(text).not.toMatch(/passwordHash|\$argon2/);
    });
  });
});
