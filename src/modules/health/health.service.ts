import { Inject, Injectable } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../../config/app.config';
import { BuildInfo, readBuildInfo } from '../../config/build-info';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { PrismaService } from '../../infra/database/prisma.service';
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
  ) {
    this.build = readBuildInfo(config);
  }

  /** Dependencies and drain state; Terminus turns any `down` into a 503. */
  async readiness(): Promise<ReadinessDto> {
    const checks: HealthIndicatorFunction[] = [
      async () => {
        const lifecycle = this.indicators.check('lifecycle');
        return this.lifecycle.shuttingDown ? lifecycle.down({ message: 'shutting down' }) : lifecycle.up();
      },
      () => this.indicators.check('database').attempt(async () => ({ latencyMs: await this.prisma.ping() })).withTimeout(CHECK_TIMEOUT_MS),
    ];
    const redis = this.redis;
    if (redis) {
      checks.push(() => this.indicators.check('redis').attempt(async () => void (await redis.ping())).withTimeout(CHECK_TIMEOUT_MS));
    }
    const result = await this.terminus.check(checks);
    return { status: 'ok', checks: result.details };
  }

  /** Seed 001's detailed health. `healthy` is false when any dependency is down or the process drains. */
  async detailed(): Promise<{ healthy: boolean; report: HealthDto }> {
    const [database, redis] = await Promise.all([this.databaseHealth(), this.redis ? this.redisHealth(this.redis) : undefined]);
    const healthy = database.status === 'healthy' && (!redis || redis.status === 'healthy') && !this.lifecycle.shuttingDown;
    return {
      healthy,
      report: {
        status: healthy ? 'healthy' : 'unhealthy',
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
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref()),
  ]);
}
