import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { loadConfig } from '../../config/app.config';
import { PrismaService } from '../../infra/database/prisma.service';
import { HealthService } from './health.service';

const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'c'.repeat(64) });

function service(opts: { dbUp?: boolean; redis?: 'up' | 'down' | null; draining?: boolean } = {}) {
  const prisma = {
    engine: 'pglite',
    ping: jest.fn(async () => {
      if (opts.dbUp === false) throw new Error('closed');
      return 1.5;
    }),
  } as unknown as PrismaService;
  const redis =
    opts.redis == null
      ? null
      : ({ ping: jest.fn(async () => (opts.redis === 'up' ? 'PONG' : Promise.reject(new Error('ECONNREFUSED')))) } as never);
  const lifecycle = new LifecycleService();
  if (opts.draining) lifecycle.beginShutdown();
  return new HealthService(config, lifecycle, prisma, redis, {} as HealthCheckService, new HealthIndicatorService());
}

describe('HealthService.detailed', () => {
  it('is healthy with the database up and no Redis configured', async () => {
    const { healthy, report } = await service().detailed();
    expect(healthy).toBe(true);
    expect(report).toMatchObject({ status: 'healthy', services: { database: { status: 'healthy', provider: 'pglite', latency: 1.5 } }, environment: 'test' });
    expect(report.services.redis).toBeUndefined();
  });

  it('is unhealthy when the database is down, without leaking the driver error', async () => {
    const { healthy, report } = await service({ dbUp: false }).detailed();
    expect(healthy).toBe(false);
    expect(report.services.database).toEqual({ status: 'unhealthy', provider: 'pglite', error: 'database unreachable' });
  });

  it('reports Redis when configured', async () => {
    expect((await service({ redis: 'up' }).detailed()).report.services.redis?.status).toBe('healthy');
    const down = await service({ redis: 'down' }).detailed();
    expect(down.healthy).toBe(false);
    expect(down.report.services.redis?.status).toBe('unhealthy');
  });

  it('is unhealthy while draining', async () => {
    expect((await service({ draining: true }).detailed()).healthy).toBe(false);
  });
});
