import { createTestApp, DEFAULT_PASSWORD, registerUser, SignedIn, TestApp } from '../support/test-app';
import { createThrowawayDatabase, ThrowawayDatabase } from './throwaway-database';

/**
 * PostgreSQL refuses connections and ends the open ones while the app runs: every route
 * answers 503 with Retry-After (never 500), readiness says why without driver text, and the
 * same app instance serves again once the database is back.
 */
describe('Database outage (integration: real PostgreSQL)', () => {
  let db: ThrowawayDatabase;
  let t: TestApp;
  let alice: SignedIn;
  let token: string;
  let unseenToken: string;
  const unexpected: unknown[] = [];
  const record = (error: unknown) => unexpected.push(error);

  beforeAll(async () => {
    process.on('unhandledRejection', record);
    db = await createThrowawayDatabase('parley_outage');
    t = await createTestApp({ env: { DATABASE_URL: db.url, MIGRATE_ON_START: 'true' } });
    alice = await registerUser(t);
    token = (await t.http().post('/api/profile/tokens').set(alice.auth).send({ name: 'program' }).expect(201)).body.data.token;
    unseenToken = (await t.http().post('/api/profile/tokens').set(alice.auth).send({ name: 'first used during the outage' }).expect(201)).body.data.token;
  });

  afterAll(async () => {
    process.off('unhandledRejection', record);
    await t?.close();
    await db?.drop();
  });

  const login = () => t.http().post('/api/login').send({ username: alice.user.username, password: DEFAULT_PASSWORD });
  const threads = () => t.http().get('/api/threads').set(alice.auth);
  const models = (bearer = token) => t.http().get('/v1/models').set('Authorization', `Bearer ${bearer}`);

  it('serves normally before the outage', async () => {
    await threads().expect(200);
    await models().expect(200);
    await t.http().get('/api/health/ready').expect(200);
  });

  describe('while the database refuses connections', () => {
    beforeAll(() => db.takeDown());

    it.each([
      ['GET /api/threads', threads],
      ['POST /api/login', login],
      ['POST /api/threads', () => t.http().post('/api/threads').set(alice.auth).send({})],
      ['GET /api/profile', () => t.http().get('/api/profile').set(alice.auth)],
    ])('%s answers 503 SERVICE_UNAVAILABLE with Retry-After', async (_route, call) => {
      const res = await call();
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable, try again shortly' } });
      expect(JSON.stringify(res.body)).not.toContain(db.name);
    });

    it('answers /v1 in OpenAI error format when it needs the database (a token not looked up before)', async () => {
      const res = await models(unseenToken);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        error: { message: 'The database is unavailable, try again shortly', type: 'server_error', param: null, code: 'service_unavailable' },
      });
    });

    it('still lists models for a token looked up before the outage (kept in the credential cache for up to 30 s)', async () => {
      await models().expect(200);
    });

    it('turns readiness to 503 with a short reason and no driver text; liveness stays 200', async () => {
      const ready = await t.http().get('/api/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.headers['retry-after']).toBe('5');
      expect(ready.body.error).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: 'Not ready (database: unavailable)',
        details: { error: { database: { status: 'down', message: 'unavailable' } } },
      });
      expect(JSON.stringify(ready.body)).not.toMatch(new RegExp(`${db.name}|accepting connections|terminat`));
      const detailed = await t.http().get('/api/health');
      expect(detailed.status).toBe(503);
      expect(JSON.stringify(detailed.body)).not.toContain(db.name);
      await t.http().get('/api/health/live').expect(200);
    });

    it('logs the outage as short warnings, without the stack of an unexpected error', () => {
      const errors = t.logs.filter((line) => line.context === 'Errors');
      expect(errors.length).toBeGreaterThanOrEqual(5);
      for (const line of errors) {
        expect(line).toMatchObject({ level: 40, msg: expect.stringMatching(/^SERVICE_UNAVAILABLE: (database unavailable \(|Not ready|One or more)/) });
        expect(line.err).toBeUndefined();
      }
    });
  });

  describe('once the database is back', () => {
    beforeAll(() => db.bringUp());

    it('the same app instance recovers without a restart', async () => {
      await t.http().get('/api/health/ready').expect(200);
      await threads().expect(200);
      await login().expect(200);
      await models().expect(200);
      await t.http().post('/api/threads').set(alice.auth).send({}).expect(201);
    });

    it('never had an unhandled rejection', () => {
      expect(unexpected).toEqual([]);
    });
  });
});
