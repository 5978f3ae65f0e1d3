import { Body, Controller, Get, Logger, Post } from '@nestjs/common';
import SwaggerParser from '@apidevtools/swagger-parser';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { Public } from '../src/common/decorators/public.decorator';
import { createTestApp, registerUser, SignedIn, TestApp } from './support/test-app';

class EchoDto {
  @IsString()
  name: string;

  @IsInt()
  @Min(0)
  @Max(2)
  level: number;
}

/** Routes that exist only in this suite, to reach the envelope and filter paths. */
@Public()
@Controller('test')
class ProbeController {
  @Post('echo')
  echo(@Body() body: EchoDto) {
    return body;
  }

  @Get('boom')
  boom(): never {
    throw new Error('secret internal detail: connection string postgres://u:p@db');
  }
}

const ENVELOPE_KEYS = ['success', 'data', 'timestamp', 'requestId'];

describe('Foundation (e2e)', () => {
  let t: TestApp;
  let alice: SignedIn;

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [ProbeController],
      env: { GIT_COMMIT: 'abc123def456', BUILD_TIME: '2026-11-21T08:00:00.000Z' },
    });
    alice = await registerUser(t);
  });
  afterAll(() => t.close());

  describe('health', () => {
    it('answers liveness without touching dependencies', async () => {
      const res = await t.http().get('/api/health/live').expect(200);
      expect(res.body).toMatchObject({ success: true, data: { status: 'ok' } });
    });

    it('serves /healthz as an alias of liveness, outside the /api prefix', async () => {
      const res = await t.http().get('/healthz').expect(200);
      expect(res.body.data).toEqual({ status: 'ok' });
    });

    it('reports readiness with the database check', async () => {
      const res = await t.http().get('/api/health/ready').expect(200);
      expect(res.body.data.status).toBe('ok');
      expect(res.body.data.checks.database.status).toBe('up');
      expect(res.body.data.checks.lifecycle.status).toBe('up');
    });

    it('gives the detailed health of seed 001', async () => {
      const res = await t.http().get('/api/health').expect(200);
      expect(res.body.data).toMatchObject({
        status: 'healthy',
        services: { database: { status: 'healthy', provider: t.config.databaseEngine } },
        version: expect.any(String),
        environment: 'test',
      });
      expect(res.body.data.uptime).toBeGreaterThanOrEqual(0);
      expect(res.body.data.services.database.latency).toBeGreaterThanOrEqual(0);
    });

    it('gives version, build time, commit and environment', async () => {
      await t.http().get('/api/version').expect(401);
      const res = await t.http().get('/api/version').set(alice.auth).expect(200);
      expect(res.body.data).toEqual({
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        buildTime: '2026-11-21T08:00:00.000Z',
        commit: 'abc123def456',
        environment: 'test',
      });
    });

    it('logs probes below info level', async () => {
      await t.http().get('/api/health/live').set('x-request-id', 'probe-log-check').expect(200);
      const lines = t.logs.filter((l) => l.requestId === 'probe-log-check');
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.every((l) => (l.level as number) < 30)).toBe(true);
    });
  });

  describe('envelope and errors', () => {
    it('wraps success in the envelope', async () => {
      const res = await t.http().post('/api/test/echo').send({ name: 'a', level: 1 }).expect(201);
      expect(Object.keys(res.body).sort()).toEqual([...ENVELOPE_KEYS].sort());
      expect(res.body.data).toEqual({ name: 'a', level: 1 });
      expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp);
    });

    it('rejects unknown fields with VALIDATION_ERROR and per-field details', async () => {
      const res = await t.http().post('/api/test/echo').send({ name: 'a', level: 1, admin: true }).expect(400);
      expect(res.body).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR' } });
      expect(res.body.error.details.fields.admin).toEqual([expect.stringContaining('should not exist')]);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    });

    it('rejects wrong types without coercing them', async () => {
      const res = await t.http().post('/api/test/echo').send({ name: 5, level: '1' }).expect(400);
      expect(Object.keys(res.body.error.details.fields).sort()).toEqual(['level', 'name']);
    });

    it('rejects out-of-range values', async () => {
      const res = await t.http().post('/api/test/echo').send({ name: 'a', level: 3 }).expect(400);
      expect(res.body.error.details.fields.level).toEqual([expect.stringContaining('must not be greater than 2')]);
    });

    it('answers malformed JSON with a 400 envelope that hides parser internals', async () => {
      const res = await t.http().post('/api/test/echo').set('content-type', 'application/json').send('{"name": ').expect(400);
      expect(res.body.error).toEqual({ code: 'VALIDATION_ERROR', message: 'Malformed JSON in request body' });
    });

    it('answers a body over the limit with 413', async () => {
      const res = await t.http().post('/api/test/echo').send({ name: 'x'.repeat(1_100_000), level: 1 }).expect(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('answers an unknown route with a 404 envelope', async () => {
      const res = await t.http().get('/api/does-not-exist').expect(404);
      expect(res.body).toMatchObject({ success: false, error: { code: 'NOT_FOUND', message: 'Route not found' } });
      expect(res.body.requestId).toEqual(expect.any(String));
    });

    it('answers an unexpected error with a generic 500 and logs it with the request id', async () => {
      const res = await t.http().get('/api/test/boom').set('x-request-id', 'boom-1').expect(500);
      expect(res.body).toMatchObject({ success: false, error: { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred' }, requestId: 'boom-1' });
      expect(JSON.stringify(res.body)).not.toContain('stack');
      const errorLine = t.logs.find((l) => l.requestId === 'boom-1' && l.level === 50);
      expect(errorLine).toBeDefined();
    });
  });

  describe('request ids', () => {
    it('honours a sane incoming x-request-id', async () => {
      const res = await t.http().get('/api/health/live').set('x-request-id', 'client-42.a_b:c').expect(200);
      expect(res.headers['x-request-id']).toBe('client-42.a_b:c');
      expect(res.body.requestId).toBe('client-42.a_b:c');
    });

    it.each([['x'.repeat(200)], ['bad id with spaces'], ['<script>']])('replaces an unsafe x-request-id (%#)', async (bad) => {
      const res = await t.http().get('/api/health/live').set('x-request-id', bad).expect(200);
      expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f-]{36}$/);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    });

    it('generates one when absent and puts it on the request log lines', async () => {
      const res = await t.http().get('/api/version').set(alice.auth).expect(200);
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^req_/);
      const lines = t.logs.filter((l) => l.requestId === id).map((l) => l.msg);
      expect(lines).toEqual(['request:end']);
      const end = t.logs.find((l) => l.requestId === id && l.msg === 'request:end')!;
      expect(end).toMatchObject({ res: { statusCode: 200 }, durationMs: expect.any(Number) });
    });
  });

  describe('logging', () => {
    it('never writes credentials from headers, query or logged objects', async () => {
      await t
        .http()
        .get('/api/health?token=supersecret-query&page=2')
        .set('authorization', 'Bearer supersecret-bearer')
        .set('cookie', 'access_token=supersecret-cookie')
        .set('x-request-id', 'redact-1')
        .expect(200);
      const text = JSON.stringify(t.logs.filter((l) => l.requestId === 'redact-1'));
      expect(text).toContain('page=2');
      expect(text).not.toContain('supersecret');
    });

    it('redacts secret-looking keys at any depth of a logged object', async () => {
      new Logger('Redaction').log({
        marker: 'redact-2',
        headers: { authorization: 'Bearer supersecret-1', 'set-cookie': ['s=supersecret-2'] },
        user: { password: 'supersecret-3', providers: [{ apiKey: 'supersecret-4', refreshToken: 'supersecret-5' }] },
      });
      const line = t.logs.find((l) => l.marker === 'redact-2');
      expect(line).toBeDefined();
      expect(JSON.stringify(line)).not.toContain('supersecret');
      expect(line).toMatchObject({ user: { password: '[Redacted]', providers: [{ apiKey: '[Redacted]' }] } });
    });
  });

  describe('OpenAPI', () => {
    it('serves a valid spec with operation ids, tags, the envelope and the auth schemes', async () => {
      const res = await t.http().get('/api/openapi.json').expect(200);
      const spec = res.body;
      await SwaggerParser.validate(structuredClone(spec));
      expect(spec.components.securitySchemes).toMatchObject({
        cookie: { type: 'apiKey', in: 'cookie', name: 'access_token' },
        bearer: { type: 'http', scheme: 'bearer' },
      });
      for (const [path, item] of Object.entries<Record<string, any>>(spec.paths)) {
        for (const op of Object.values<any>(item)) {
          expect({ path, operationId: op.operationId }).toEqual({ path, operationId: expect.any(String) });
          expect(op.tags?.length).toBeGreaterThan(0);
          expect(op.responses['500']).toBeDefined();
        }
      }
      const live = spec.paths['/api/health/live'].get.responses['200'].content['application/json'].schema;
      expect(live.properties).toMatchObject({ success: expect.any(Object), data: expect.any(Object), requestId: expect.any(Object) });
      expect(spec.paths['/healthz']).toBeDefined();
      // The swagger plugin's metadata loaded: DTO fields without decorators of their own are documented.
      expect(t.logs.filter((l) => l.context === 'OpenAPI')).toEqual([]);
      expect(spec.components.schemas.UserDto.properties).toMatchObject({ id: expect.any(Object), username: expect.any(Object) });
      expect(spec.components.schemas.ChatCompletionRequestDto.properties).toMatchObject({ model: expect.any(Object), messages: expect.any(Object) });
    });

    it('serves Swagger UI at /api/docs', async () => {
      const res = await t.http().get('/api/docs').redirects(1).expect(200);
      expect(res.text).toContain('swagger-ui');
    });
  });
});
