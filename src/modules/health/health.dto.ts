import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class LivenessDto {
  @ApiProperty({ enum: ['ok'] })
  status: 'ok';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'degraded'], description: '`degraded`: ready, but Redis is unreachable (rate limits count per process)' })
  status: 'ok' | 'degraded';
  @ApiProperty({
    description: 'One entry per dependency checked: database, redis (when configured; `degraded` when unreachable, never fatal), lifecycle',
    type: 'object',
    additionalProperties: {
      type: 'object',
      properties: { status: { type: 'string', enum: ['up', 'down', 'degraded'] } },
      additionalProperties: true,
    },
  })
  checks: Record<string, { status: string; [detail: string]: unknown }>;
}

export class DatabaseHealthDto {
  @ApiProperty({ enum: ['healthy', 'unhealthy'] })
  status: 'healthy' | 'unhealthy';
  @ApiProperty({ enum: ['pglite', 'postgresql'] })
  provider: 'pglite' | 'postgresql';
  @ApiPropertyOptional({ description: 'Round trip of a trivial query, ms' })
  latency?: number;
  @ApiPropertyOptional()
  error?: string;
}

export class RedisHealthDto {
  @ApiProperty({ enum: ['healthy', 'unhealthy'] })
  status: 'healthy' | 'unhealthy';
  @ApiPropertyOptional({ description: 'Round trip of PING, ms' })
  latency?: number;
  @ApiPropertyOptional()
  error?: string;
}

export class ServicesHealthDto {
  @ApiProperty({ type: DatabaseHealthDto })
  database: DatabaseHealthDto;
  @ApiPropertyOptional({ type: RedisHealthDto, description: 'Present when REDIS_URL is set' })
  redis?: RedisHealthDto;
}

export class HealthDto {
  @ApiProperty({ enum: ['healthy', 'degraded', 'unhealthy'] })
  status: 'healthy' | 'degraded' | 'unhealthy';
  @ApiProperty({ description: 'Seconds since the process started' })
  uptime: number;
  @ApiProperty({ type: ServicesHealthDto })
  services: ServicesHealthDto;
  @ApiProperty({ example: '0.1.0' })
  version: string;
  @ApiProperty({ example: 'production' })
  environment: string;
}

export class VersionDto {
  @ApiProperty({ example: '0.1.0' })
  version: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  buildTime: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'abc123def456' })
  commit: string | null;
  @ApiProperty({ example: 'production' })
  environment: string;
}
