import { Controller, Get } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { Public } from '../src/common/decorators/public.decorator';
import { LifecycleService } from '../src/common/lifecycle/lifecycle.service';
import { shutdownGracefully } from '../src/common/lifecycle/graceful-shutdown';
import { PrismaService } from '../src/infra/database/prisma.service';
import { createTestApp, TEST_REDIS_URL, TestApp } from './support/test-app';

@Public()
@Controller('test')
class SlowController {
  @Get('slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 400));
    return { finished: true };
  }
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Readiness and shutdown (e2e)', () => {
  let t: TestApp;

  afterEach(() => t.close());

  it('turns readiness and detailed health to 503 when the database is gone, liveness stays 200', async () => {
    t = await createTestApp();
    await t.app.get(PrismaService).closeConnection();

    const ready = await t.http().get('/api/health/ready').expect(503);
    expect(ready.body).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE' } });
    expect(ready.body.error.details.error.database.status).toBe('down');

    const detailed = await t.http().get('/api/health').expect(503);
    expect(detailed.body.error.details).toMatchObject({ status: 'unhealthy', services: { database: { status: 'unhealthy' } } });

    await t.http().get('/api/health/live').expect(200);
  });

  it('turns readiness to 503 as soon as shutdown begins', async () => {
    t = await createTestApp();
    t.app.get(LifecycleService).beginShutdown();
    const res = await t.http().get('/api/health/ready').expect(503);
    expect(res.body.error.details.error.lifecycle).toEqual({ status: 'down', message: 'shutting down' });
  });

  it('checks Redis when REDIS_URL is set', async () => {
    t = await createTestApp({ env: { REDIS_URL: TEST_REDIS_URL } });
    const ready = await t.http().get('/api/health/ready').expect(200);
    expect(ready.body.data.checks.redis.status).toBe('up');
    const detailed = await t.http().get('/api/health').expect(200);
    expect(detailed.body.data.services.redis).toMatchObject({ status: 'healthy', latency: expect.any(Number) });
  });

  it('shares rate-limit counters between instances through Redis', async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, TRUST_PROXY: 'loopback', RATE_LIMITS: 'login=2' };
    t = await createTestApp({ env });
    const other = await createTestApp({ env });
    try {
      // A client address of its own per run: Redis keeps counters for the whole window.
      const client = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      const attempt = (app: typeof t) =>
        app.http().post('/api/login').set('x-forwarded-for', client).send({ username: 'nobody@example.com', password: 'wrong-password' });
      expect((await attempt(t)).status).toBe(401);
      expect((await attempt(other)).status).toBe(401);
      const third = await attempt(t);
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBeDefined();
    } finally {
      await other.close();
    }
  });

  it('stays ready, reporting degraded, when the configured Redis is unreachable (one blinking Redis must not take every pod out)', async () => {
    t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    const ready = await t.http().get('/api/health/ready').expect(200);
    expect(ready.body.data).toEqual(expect.objectContaining({ status: 'degraded', checks: expect.objectContaining({ redis: expect.objectContaining({ status: 'degraded' }), database: expect.objectContaining({ status: 'up' }) }) }));
    const detailed = await t.http().get('/api/health').expect(200);
    expect(detailed.body.data).toEqual(expect.objectContaining({ status: 'degraded', services: expect.objectContaining({ redis: expect.objectContaining({ status: 'unhealthy' }) }) }));
  });

  it('finishes in-flight requests, refuses new connections, then closes', async () => {
    t = await createTestApp({ controllers: [SlowController], listen: true });
    const port = (t.app.getHttpServer().address() as AddressInfo).port;

    const inFlight = get(port, '/api/test/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = shutdownGracefully(t.app, { delayMs: 0, graceMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 50));

    await expect(get(port, '/api/health/live')).rejects.toThrow(/ECONNREFUSED/);
    const slow = await inFlight;
    expect(slow.status).toBe(200);
    expect(JSON.parse(slow.body).data).toEqual({ finished: true });
    await stopped;
    await expect(t.app.get(PrismaService).ping()).rejects.toThrow();
  });

  it('cuts requests that outlive the grace period', async () => {
    t = await createTestApp({ controllers: [SlowController], listen: true });
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const inFlight = get(port, '/api/test/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await shutdownGracefully(t.app, { delayMs: 0, graceMs: 50 });
    await expect(inFlight).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});
