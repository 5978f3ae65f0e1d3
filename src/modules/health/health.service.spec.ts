import { Test } from '@nestjs/testing';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { AppException } from '../../common/errors/app.exception';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { loadConfig } from '../../config/app.config';
import { PrismaService } from '../../infra/database/prisma.service';
import { HealthService } from './health.service';

const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'c'.repeat(64) });

function service(opts: { dbUp?: boolean; redis?: 'up' | 'down' | null; draining?: boolean } = {}, terminus = {} as HealthCheckService) {
  const prisma = {
    engine: 'postgresql',
    ping: jest.fn(async () => {
      if (opts.dbUp === false) throw new Error('database "secret_db" is not currently accepting connections');
      return 1.5;
    }),
  } as unknown as PrismaService;
  const redis =
    opts.redis == null
      ? null
      : ({ ping: jest.fn(async () => (opts.redis === 'up' ? 'PONG' : Promise.reject(new Error('ECONNREFUSED')))) } as never);
  const lifecycle = new LifecycleService();
  if (opts.draining) lifecycle.beginShutdown();
  return new HealthService(config, lifecycle, prisma, redis, terminus, new HealthIndicatorService());
}

describe('HealthService.readiness', () => {
  let terminus: HealthCheckService;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [TerminusModule.forRoot({ logger: false })] }).compile();
    terminus = moduleRef.get(HealthCheckService);
  });
  const ready = (opts: Parameters<typeof service>[0]) => service(opts, terminus).readiness();
  const failure = (opts: Parameters<typeof service>[0]) =>
    ready(opts).then(
      () => Promise.reject(new Error('expected readiness to fail')),
      (error: AppException) => error,
    );

  it('is ok with the database and Redis up', async () => {
    const result = await ready({ redis: 'up' });
    expect(result).toMatchObject({ status: 'ok', checks: { database: { status: 'up' }, redis: { status: 'up' }, lifecycle: { status: 'up' } } });
  });

  it('stays ready, reporting Redis as degraded, when only Redis is down', async () => {
    const result = await ready({ redis: 'down' });
    expect(result.status).toBe('degraded');
    expect(result.checks.redis).toMatchObject({ status: 'degraded', message: 'unreachable, rate limits count per process' });
    expect(result.checks.database.status).toBe('up');
  });

  it('fails with a short reason and no driver text when the database is down', async () => {
    const error = await failure({ dbUp: false, redis: 'down' });
    expect(error.getStatus()).toBe(503);
    expect(error.message).toBe('Not ready (database: unavailable)');
    expect(error.details).toMatchObject({ error: { database: { status: 'down', message: 'unavailable' } }, info: { redis: { status: 'degraded' } } });
    expect(JSON.stringify(error.details)).not.toMatch(/secret_db|accepting/);
  });

  it('fails while draining', async () => {
    expect((await failure({ draining: true })).message).toBe('Not ready (lifecycle: shutting down)');
  });
});

describe('HealthService.detailed', () => {
  it('is healthy with the database up and no Redis configured', async () => {
    const { healthy, report } = await service().detailed();
    expect(healthy).toBe(true);
    expect(report).toMatchObject({ status: 'healthy', services: { database: { status: 'healthy', provider: 'postgresql', latency: 1.5 } }, environment: 'test' });
    expect(report.services.redis).toBeUndefined();
  });

  it('is unhealthy when the database is down, without leaking the driver error', async () => {
    const { healthy, report } = await service({ dbUp: false }).detailed();
    expect(healthy).toBe(false);
    expect(report.services.database).toEqual({ status: 'unhealthy', provider: 'postgresql', error: 'database unreachable' });
  });

  it('reports Redis when configured; an unreachable Redis degrades, it does not make the service unhealthy', async () => {
    expect((await service({ redis: 'up' }).detailed()).report.services.redis?.status).toBe('healthy');
    const down = await service({ redis: 'down' }).detailed();
    expect(down.healthy).toBe(true);
    expect(down.report.status).toBe('degraded');
    expect(down.report.services.redis).toEqual({ status: 'unhealthy', error: 'redis unreachable' });
  });

  it('is unhealthy while draining', async () => {
    expect((await service({ draining: true }).detailed()).healthy).toBe(false);
  });
});
