import { HttpStatus, Inject, Injectable, Optional, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { BuildInfo, readBuildInfo } from '../../config/build-info';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { PrismaService } from '../../infra/database/prisma.service';
import { Metrics } from '../../infra/metrics/metrics';
import { REDIS, type RedisClient } from '../../infra/redis/redis.module';
import { DatabaseHealthDto, HealthDto, ReadinessDto, RedisHealthDto, VersionDto } from './health.dto';

const CHECK_TIMEOUT_MS = 2000;

@Injectable()
export class HealthService {
  private readonly build: BuildInfo;

  constructor(
    private readonly config: AppConfig,
    private readonly lifecycle: LifecycleService,
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly terminus: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Optional() metrics?: Metrics,
  ) {
    this.build = readBuildInfo(config);
    // parley_database_up / parley_redis_up, probed at each scrape (Metrics bounds each probe to 1 s).
    const redisClient = redis;
    metrics?.reportDependencies({
      database: async () => (await this.databaseHealth()).status === 'healthy',
      ...(redisClient ? { redis: async () => (await this.redisHealth(redisClient)).status === 'healthy' } : {}),
    });
  }

  /**
   * Drain state and the database decide readiness (Terminus turns a `down` into a 503).
   * Redis is reported, as `degraded` when unreachable, but never fails readiness: every pod
   * shares one Redis, so a blink of it would take all of them out of the load balancer at
   * once, while each can serve on with per-process rate-limit counters.
   */
  async readiness(): Promise<ReadinessDto> {
    const checks: HealthIndicatorFunction[] = [
      async () => {
        const lifecycle = this.indicators.check('lifecycle');
        return this.lifecycle.shuttingDown ? lifecycle.down({ message: 'shutting down' }) : lifecycle.up();
      },
      async () => {
        const database = this.indicators.check('database');
        const health = await this.databaseHealth();
        // A short reason only: the driver's text names hosts and databases.
        return health.status === 'healthy' ? database.up({ latencyMs: health.latency }) : database.down({ message: 'unavailable' });
      },
    ];
    const redis = this.redis;
    if (redis) {
      checks.push(async () => {
        const indicator = this.indicators.check('redis');
        const health = await this.redisHealth(redis);
        return health.status === 'healthy'
          ? indicator.up({ latencyMs: health.latency })
          : indicator.degraded({ message: 'unreachable, rate limits count per process' });
      });
    }
    let result: HealthCheckResult;
    try {
      result = await this.terminus.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const report = error.getResponse() as HealthCheckResult;
      const reasons = Object.entries(report.error ?? {}).map(([name, check]) => `${name}: ${String(check?.message ?? check?.status)}`);
      throw new AppException(ErrorCode.SERVICE_UNAVAILABLE, `Not ready (${reasons.join(', ') || 'shutting down'})`, HttpStatus.SERVICE_UNAVAILABLE, {
        ...report,
      });
    }
    return { status: result.status === 'degraded' ? 'degraded' : 'ok', checks: result.details };
  }

  /**
   * Seed 001's detailed health. `healthy` is false when the database is down or the process
   * drains; an unreachable Redis makes it `degraded` (see readiness).
   */
  async detailed(): Promise<{ healthy: boolean; report: HealthDto }> {
    const [database, redis] = await Promise.all([this.databaseHealth(), this.redis ? this.redisHealth(this.redis) : undefined]);
    const healthy = database.status === 'healthy' && !this.lifecycle.shuttingDown;
    const degraded = redis !== undefined && redis.status !== 'healthy';
    return {
      healthy,
      report: {
        status: !healthy ? 'unhealthy' : degraded ? 'degraded' : 'healthy',
        uptime: this.lifecycle.uptimeSeconds(),
        services: { database, ...(redis ? { redis } : {}) },
        version: this.build.version,
        environment: this.config.NODE_ENV,
      },
    };
  }

  version(): VersionDto {
    return { ...this.build, environment: this.config.NODE_ENV };
  }

  private async databaseHealth(): Promise<DatabaseHealthDto> {
    const provider = this.prisma.engine;
    try {
      return { status: 'healthy', provider, latency: await withTimeout(this.prisma.ping()) };
    } catch {
      return { status: 'unhealthy', provider, error: 'database unreachable' };
    }
  }

  private async redisHealth(redis: NonNullable<RedisClient>): Promise<RedisHealthDto> {
    const started = performance.now();
    try {
      await withTimeout(redis.ping());
      return { status: 'healthy', latency: Math.round((performance.now() - started) * 10) / 10 };
    } catch {
      return { status: 'unhealthy', error: 'redis unreachable' };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms = CHECK_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms).unref();
  });
  // Cleared once settled: a pending timer per probe would outlive the app (and keep jest waiting).
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
