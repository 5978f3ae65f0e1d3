import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaService } from '../src/infra/database/prisma.service';
import { createTestApp, expectError, login, registerUser, SignedIn, TestApp } from './support/test-app';
import { UsageService } from '../src/modules/usage/usage.service';

/**
 * HTTP hardening, written as the attacks: cross-site requests riding the session cookie,
 * missing security headers, spoofed client addresses, a data directory other local users
 * can read, prompts in the logs, and an install without a way to create its first admin.
 *
 * nestjs-pino keeps one root logger per process: every app's lines land in the FIRST app's
 * `t.logs`, so the main app is created first and the log assertions read its `t.logs`.
 */

// Several tests boot extra apps on a real directory (PGlite initdb): slower than the default 30 s on a busy machine.
jest.setTimeout(120_000);

const EVIL = 'https://evil.parley.test';
const TRUSTED = 'https://app.parley.test';
/** The app as a browser on its own origin addresses it (supertest would send 127.0.0.1:<random port>). */
const OWN_HOST = 'parley.test';
const OWN = `http://${OWN_HOST}`;
const PROMPT = 'zebra-secret-prompt-4711';

const collectText = (r: any, done: (err: Error | null, body: string) => void) => {
  let text = '';
  r.on('data', (c: Buffer) => (text += c));
  r.on('end', () => done(null, text));
};

function framesOf(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => JSON.parse(f.slice(6)));
}

/** Every path under a directory with its permission bits. */
function modes(root: string): Array<{ path: string; mode: string }> {
  const out: Array<{ path: string; mode: string }> = [];
  const visit = (p: string) => {
    const stat = lstatSync(p);
    out.push({ path: p, mode: (stat.mode & 0o777).toString(8) });
    if (stat.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(root);
  return out;
}
const openToOthers = (root: string) => modes(root).filter((e) => (parseInt(e.mode, 8) & 0o077) !== 0);

describe('HTTP hardening (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let alice: SignedIn;
  let pk: { Authorization: string };

  beforeAll(async () => {
    // First app of the file: its t.logs captures every line (see above).
    t = await createTestApp({
      env: {
        CORS_ORIGINS: TRUSTED,
        RATE_LIMITS: 'login=1000,register=1000,refresh=1000,llm=1000,gateway=1000,threads.create=1000,profile.tokens=1000',
      },
    });
    prisma = t.app.get(PrismaService);
    alice = await registerUser(t);
    const token = await t.http().post('/api/profile/tokens').set(alice.auth).send({ name: 'program' }).expect(201);
    pk = { Authorization: `Bearer ${token.body.data.token}` };
  });
  afterAll(() => t.close());

  const threadCount = () => prisma.thread.count({ where: { userId: alice.user.id } });
  // Usage records are written in batches: the pending one first.
  const usageCount = async () => {
    await t.app.get(UsageService).flush();
    return prisma.usageRecord.count({ where: { userId: alice.user.id } });
  };

  describe('CSRF: a cookie-authenticated request from another origin is refused', () => {
    it('refuses a text/plain POST from a sibling subdomain: 403 CSRF_REJECTED, no thread created', async () => {
      const before = await threadCount();
      const res = await t.http().post('/api/threads').set('cookie', alice.cookies).set('origin', EVIL).set('content-type', 'text/plain').send('{}');
      expectError(res, 403, 'CSRF_REJECTED');
      expect(await threadCount()).toBe(before);
    });

    it('refuses an empty-body POST marked Sec-Fetch-Site: cross-site (no Origin), and a model load', async () => {
      const before = await threadCount();
      expectError(await t.http().post('/api/threads').set('cookie', alice.cookies).set('sec-fetch-site', 'cross-site'), 403, 'CSRF_REJECTED');
      expectError(await t.http().post('/api/threads').set('cookie', alice.cookies).set('sec-fetch-site', 'same-site'), 403, 'CSRF_REJECTED');
      expectError(await t.http().post('/api/models/llama-3.2-1b-local/load').set('cookie', alice.cookies).set('origin', EVIL), 403, 'CSRF_REJECTED');
      expectError(await t.http().delete(`/api/profile/tokens/${alice.user.id}`).set('cookie', alice.cookies).set('origin', 'null'), 403, 'CSRF_REJECTED');
      expect(await threadCount()).toBe(before);
    });

    it('refuses GET and HEAD /api/llm/stream from a cross-site navigation: no model call, nothing recorded', async () => {
      const before = await usageCount();
      const query = { prompt: PROMPT, model: 'parley-demo' };
      expectError(await t.http().get('/api/llm/stream').query(query).set('cookie', alice.cookies).set('sec-fetch-site', 'cross-site'), 403, 'CSRF_REJECTED');
      expectError(await t.http().get('/api/llm/stream').query(query).set('cookie', alice.cookies).set('origin', EVIL), 403, 'CSRF_REJECTED');
      expect((await t.http().head('/api/llm/stream').query(query).set('cookie', alice.cookies).set('sec-fetch-site', 'cross-site')).status).toBe(403);
      expectError(await t.http().post('/api/llm/stream').set('cookie', alice.cookies).set('origin', EVIL).send(query), 403, 'CSRF_REJECTED');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await usageCount()).toBe(before);
    });

    it('refuses sign-in and sign-up from a foreign origin (login CSRF)', async () => {
      const res = await t.http().post('/api/login').set('origin', EVIL).send({ username: alice.user.username, password: 'correct horse battery' });
      expectError(res, 403, 'CSRF_REJECTED');
      expect(res.headers['set-cookie']).toBeUndefined();
      expectError(await t.http().post('/api/register').set('sec-fetch-site', 'cross-site').send({ username: 'csrf@parley.test', password: 'a long password 1' }), 403, 'CSRF_REJECTED');
    });

    it('lets the same requests through from the app\'s own origin (Swagger UI), a trusted origin, curl and bearer tokens', async () => {
      const before = await threadCount();
      const own = { host: OWN_HOST, origin: OWN, 'sec-fetch-site': 'same-origin' };
      await t.http().post('/api/threads').set('cookie', alice.cookies).set(own).send({}).expect(201);
      await t.http().post('/api/threads').set('cookie', alice.cookies).set({ origin: TRUSTED, 'sec-fetch-site': 'same-site' }).send({}).expect(201);
      await t.http().post('/api/threads').set('cookie', alice.cookies).send({}).expect(201);
      await t.http().post('/api/threads').set(alice.auth).set({ origin: EVIL, 'sec-fetch-site': 'cross-site' }).send({}).expect(201);
      expect(await threadCount()).toBe(before + 4);
      // Behind a trusted proxy the origin is the one the client used (X-Forwarded-Proto/-Host).
      const proxied = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
      try {
        const bob = await registerUser(proxied);
        await proxied
          .http()
          .post('/api/threads')
          .set('cookie', bob.cookies)
          .set({ origin: 'https://chat.parley.test', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'chat.parley.test' })
          .send({})
          .expect(201);
        expectError(await proxied.http().post('/api/threads').set('cookie', bob.cookies).set({ origin: 'https://chat.parley.test' }).send({}), 403, 'CSRF_REJECTED');
      } finally {
        await proxied.close();
      }
    });

    it('streams GET and POST /api/llm/stream for the app\'s own origin, curl and bearer tokens', async () => {
      const before = await usageCount();
      const query = { prompt: 'hello', model: 'parley-demo' };
      const runs = [
        t.http().get('/api/llm/stream').query(query).set('cookie', alice.cookies).set({ host: OWN_HOST, 'sec-fetch-site': 'same-origin' }),
        t.http().get('/api/llm/stream').query(query).set('cookie', alice.cookies),
        t.http().get('/api/llm/stream').query(query).set(alice.auth).set('sec-fetch-site', 'cross-site'),
        t.http().post('/api/llm/stream').set('cookie', alice.cookies).set({ host: OWN_HOST, origin: OWN }).send({ ...query, temperature: 0.2, maxTokens: 50 }),
      ];
      for (const run of runs) {
        const res = await run.buffer(true).parse(collectText).expect(200);
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        expect(framesOf(res.body as string).at(-1)).toEqual({ done: true, content: expect.any(String) });
      }
      expect(await usageCount()).toBe(before + runs.length);
      // The POST body is validated like the query.
      expectError(await t.http().post('/api/llm/stream').set(alice.auth).send({ prompt: 'x', model: 'parley-demo', admin: true }), 400, 'VALIDATION_ERROR');
    });

    it('leaves /v1 to bearer tokens: a pk_ call from any origin works, a cookie-only one from a foreign origin is refused', async () => {
      const body = { model: 'parley-demo', messages: [{ role: 'user', content: 'hi' }] };
      await t.http().post('/v1/chat/completions').set(pk).set({ origin: EVIL, 'sec-fetch-site': 'cross-site' }).send(body).expect(200);
      const refused = await t.http().post('/v1/chat/completions').set('cookie', alice.cookies).set('origin', EVIL).send(body);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ type: expect.any(String), message: expect.stringMatching(/Cross-site request refused/) });
    });
  });

  describe('security headers', () => {
    it('sends nosniff, frame protection and a locked-down CSP on API answers, and no HSTS outside production', async () => {
      const res = await t.http().get('/api/health/live').expect(200);
      expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' });
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['strict-transport-security']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
      // Errors and CSRF refusals carry them too.
      const refused = await t.http().post('/api/threads').set('origin', EVIL);
      expect(refused.headers['x-frame-options']).toBe('DENY');
    });

    it('marks answers to requests with credentials, and sign-in answers, Cache-Control: no-store', async () => {
      expect((await t.http().get('/api/threads').set('cookie', alice.cookies).expect(200)).headers['cache-control']).toBe('no-store');
      expect((await t.http().get('/api/profile').set(alice.auth).expect(200)).headers['cache-control']).toBe('no-store');
      expect((await t.http().get('/v1/models').set(pk).expect(200)).headers['cache-control']).toBe('no-store');
      expect((await t.http().post('/api/login').send({ username: alice.user.username, password: 'correct horse battery' }).expect(200)).headers['cache-control']).toBe('no-store');
      expect((await t.http().get('/api/health/live').expect(200)).headers['cache-control']).toBeUndefined();
    });

    it('serves Swagger UI under a CSP that allows its scripts (all from /api/docs, none inline) and nothing else', async () => {
      const page = await t.http().get('/api/docs/').expect(200);
      const csp = String(page.headers['content-security-policy']);
      const directive = (name: string) => csp.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `));
      expect(directive('script-src')).toBe("script-src 'self'");
      expect(directive('frame-ancestors')).toBe("frame-ancestors 'none'");
      expect(directive('object-src')).toBe("object-src 'none'");
      expect(page.headers['x-frame-options']).toBe('DENY');
      const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThanOrEqual(3);
      for (const [, attributes, body] of scripts) {
        // An inline script would need 'unsafe-inline' or its hash: there is none.
        expect(body.trim()).toBe('');
        const src = /src=["']([^"']+)["']/.exec(attributes)![1];
        // 'self': a relative URL on this origin.
        expect(src).not.toMatch(/^[a-z]+:|^\/\//i);
        const script = await t.http().get(new URL(src, 'http://x/api/docs/').pathname).expect(200);
        expect(script.headers['content-type']).toMatch(/javascript/);
      }
      const init = await t.http().get('/api/docs/swagger-ui-init.js').expect(200);
      expect(init.text).toContain('"withCredentials": true');
      expect(init.text).not.toMatch(/persistAuthorization"?\s*:\s*true/);
    });
  });

  describe('logs', () => {
    it('logs a /v1 call as exactly one request line, with no prompt text anywhere', async () => {
      const id = 'v1-log-check';
      await t
        .http()
        .post('/v1/chat/completions')
        .set(pk)
        .set('x-request-id', id)
        .send({ model: 'parley-demo', messages: [{ role: 'system', content: `system ${PROMPT}` }, { role: 'user', content: PROMPT }] })
        .expect(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lines = t.logs.filter((l) => l.requestId === id);
      // One line per request: the model call's sizes and tokens ride on it.
      expect(lines).toEqual([
        expect.objectContaining({
          msg: 'request:end',
          req: expect.objectContaining({ method: 'POST', url: '/v1/chat/completions' }),
          res: { statusCode: 200 },
          modelCall: expect.objectContaining({ source: 'gateway', model: 'parley-demo', status: 'complete' }),
        }),
      ]);
      expect(JSON.stringify(t.logs)).not.toContain(PROMPT);
    });

    it('never logs search terms or prompts from query strings', async () => {
      await t.http().get('/api/threads?q=secret-search-term-99&limit=5').set(alice.auth).set('x-request-id', 'q-log-check').expect(200);
      await t.http().get('/api/llm/stream').query({ prompt: `${PROMPT}-query`, system: 'secret-system-88', model: 'parley-demo' }).set(alice.auth).buffer(true).parse(collectText).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const text = JSON.stringify(t.logs);
      expect(text).not.toContain('secret-search-term-99');
      expect(text).not.toContain('secret-system-88');
      expect(text).not.toContain(PROMPT);
      expect(t.logs.find((l) => l.requestId === 'q-log-check' && l.msg === 'request:end')).toMatchObject({ req: { url: '/api/threads?q=%5BRedacted%5D&limit=5' } });
    });

    it('logs a CSRF refusal once, as a warning naming the origin', async () => {
      await t.http().post('/api/threads').set('cookie', alice.cookies).set('origin', EVIL).set('x-request-id', 'csrf-log-check').expect(403);
      const lines = t.logs.filter((l) => l.requestId === 'csrf-log-check');
      expect(lines).toEqual([
        expect.objectContaining({ level: 40, origin: EVIL, reason: 'foreign-origin', statusCode: 403, req: expect.objectContaining({ method: 'POST', url: '/api/threads' }) }),
      ]);
    });
  });

  describe('data directory', () => {
    const roots: string[] = [];
    afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

    it('keeps DATA_DIR, the embedded database and the development secrets to their owner', async () => {
      const root = mkdtempSync(join(tmpdir(), 'parley-datadir-'));
      roots.push(root);
      const dataDir = join(root, 'data');
      const app = await createTestApp({
        env: { DATA_DIR: dataDir, EMBEDDED_DB_PATH: join(dataDir, 'db'), DATABASE_URL: '', JWT_SECRET: '', ENCRYPTION_KEY: '' },
      });
      try {
        await registerUser(app);
        const entries = modes(dataDir);
        expect(entries.length).toBeGreaterThan(100);
        expect(entries.find((e) => e.path === dataDir)?.mode).toBe('700');
        expect(entries.find((e) => e.path === join(dataDir, 'dev-secrets.json'))?.mode).toBe('600');
        expect(openToOthers(dataDir)).toEqual([]);
      } finally {
        await app.close();
      }
    });

    it('restricts an embedded database left open by an older version, and warns about an open DATA_DIR', async () => {
      const root = mkdtempSync(join(tmpdir(), 'parley-datadir-'));
      roots.push(root);
      const dataDir = join(root, 'data');
      mkdirSync(join(dataDir, 'db'), { recursive: true, mode: 0o755 });
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, 'db'), 0o755);
      const secrets = join(dataDir, 'dev-secrets.json');
      writeFileSync(secrets, JSON.stringify({ JWT_SECRET: 'j'.repeat(48), ENCRYPTION_KEY: 'c'.repeat(64) }), { mode: 0o644 });
      chmodSync(secrets, 0o644);
      const app = await createTestApp({
        env: { DATA_DIR: dataDir, EMBEDDED_DB_PATH: join(dataDir, 'db'), DATABASE_URL: '', JWT_SECRET: '', ENCRYPTION_KEY: '' },
      });
      try {
        expect(openToOthers(join(dataDir, 'db'))).toEqual([]);
        expect(modes(secrets)[0].mode).toBe('600');
        // DATA_DIR existed already: reported (with the fix), not changed behind the owner's back.
        expect(modes(dataDir)[0].mode).toBe('755');
        const warnings = t.logs.filter((l) => l.context === 'DataDir' && l.level === 40).map((l) => String(l.msg));
        expect(warnings).toEqual(
          expect.arrayContaining([expect.stringContaining(`${join(dataDir, 'db')} was open to other users`), expect.stringContaining(`chmod 700 ${dataDir}`)]),
        );
      } finally {
        await app.close();
      }
    });
  });

  describe('client address (TRUST_PROXY)', () => {
    it('refuses TRUST_PROXY=true at start, saying what to set', async () => {
      await expect(createTestApp({ env: { TRUST_PROXY: 'true' } })).rejects.toThrow(/TRUST_PROXY.*number of proxies/);
    });

    it('with TRUST_PROXY=1 takes the last X-Forwarded-For hop, whatever the client wrote before it', async () => {
      const app = await createTestApp({ env: { TRUST_PROXY: '1', RATE_LIMITS: 'login=3,register=1000' } });
      try {
        // Usernames of this test only: on PostgreSQL other suites share the audit log.
        const run = Date.now();
        const attempt = (i: number, forwardedFor: string) =>
          app.http().post('/api/login').set('x-forwarded-for', forwardedFor).send({ username: `nobody${i}.${run}@parley.test`, password: 'wrong password 1' });
        // Eight logins, each with a new spoofed address in front of the load balancer's entry.
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) statuses.push((await attempt(i, `198.51.100.${i}, 203.0.113.9`)).status);
        expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
        // Another client behind the same proxy has its own bucket.
        expect((await attempt(9, '203.0.113.10')).status).toBe(401);
        const audited = await app.app
          .get(PrismaService)
          .auditLog.findMany({ where: { action: 'auth.login_failed', target: { endsWith: `.${run}@parley.test` } }, select: { ip: true } });
        expect(new Set(audited.map((a) => a.ip))).toEqual(new Set(['203.0.113.9', '203.0.113.10']));
      } finally {
        await app.close();
      }
    });
  });

  describe('first admin (ADMIN_EMAIL / ADMIN_PASSWORD)', () => {
    const root = mkdtempSync(join(tmpdir(), 'parley-admin-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const production = (env: Record<string, string>) =>
      createTestApp({ env: { NODE_ENV: 'production', DATA_DIR: root, EMBEDDED_DB_PATH: join(root, 'db'), DATABASE_URL: '', ...env } });

    it('creates a working admin in production, with no demo account, no Swagger UI and HSTS', async () => {
      const app = await production({ ADMIN_EMAIL: 'Root@Parley.test', ADMIN_PASSWORD: 'first admin password' });
      try {
        const admin = await login(app, 'root@parley.test', 'first admin password');
        expect(admin.user.role).toBe('admin');
        await app.http().get('/api/admin/users').set(admin.auth).expect(200);
        // Another account for the next test to promote.
        await app.http().post('/api/admin/users').set(admin.auth).send({ username: 'ops@parley.test', password: 'ops account password', role: 'user' }).expect(201);
        expectError(await app.http().post('/api/login').send({ username: 'admin@example.com', password: 'admin123' }), 401, 'INVALID_CREDENTIALS');
        await app.http().get('/api/docs/').expect(404);
        expect((await app.http().get('/api/health/live')).headers['strict-transport-security']).toMatch(/max-age=\d+/);
      } finally {
        await app.close();
      }
    });

    it('on later starts promotes an existing account and never changes its password', async () => {
      // Same admin with another password: reported, not applied.
      let app = await production({ ADMIN_EMAIL: 'root@parley.test', ADMIN_PASSWORD: 'some other password' });
      try {
        await login(app, 'root@parley.test', 'first admin password');
        expectError(await app.http().post('/api/login').send({ username: 'root@parley.test', password: 'some other password' }), 401, 'INVALID_CREDENTIALS');
        expect(t.logs).toContainEqual(expect.objectContaining({ context: 'AdminBootstrap', level: 40, msg: expect.stringMatching(/ADMIN_PASSWORD is not the password of root@parley\.test: left unchanged/) }));
        const ops = await login(app, 'ops@parley.test', 'ops account password');
        expectError(await app.http().get('/api/admin/users').set(ops.auth), 403, 'FORBIDDEN');
      } finally {
        await app.close();
      }
      // An existing user named by ADMIN_EMAIL (no password needed) becomes an admin.
      app = await production({ ADMIN_EMAIL: 'ops@parley.test' });
      try {
        const ops = await login(app, 'ops@parley.test', 'ops account password');
        expect(ops.user.role).toBe('admin');
        await app.http().get('/api/admin/users').set(ops.auth).expect(200);
        const rows = await app.app.get(PrismaService).auditLog.findMany({ where: { action: { in: ['admin.user_created', 'admin.user_updated'] }, actorId: null } });
        expect(rows.map((r) => r.metadata)).toEqual(expect.arrayContaining([expect.objectContaining({ via: 'env' })]));
      } finally {
        await app.close();
      }
    });
  });
});
