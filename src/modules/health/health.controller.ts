import { Controller, Get, HttpStatus } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../../common/decorators/public.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { HealthDto, LivenessDto, ReadinessDto, VersionDto } from './health.dto';
import { HealthService } from './health.service';

/** Kubernetes probes and service information. Probes are public, never rate limited, logged at debug. */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get('health/live')
  @SkipThrottle()
  @ApiOperation({ summary: 'Liveness probe: the process answers; checks no dependency' })
  @ApiEnvelope(LivenessDto)
  live(): LivenessDto {
    return { status: 'ok' };
  }

  /** Excluded from the /api prefix: seed 000's alias of liveness. */
  @Public()
  @Get('healthz')
  @SkipThrottle()
  @ApiOperation({ summary: 'Liveness probe alias (/healthz)' })
  @ApiEnvelope(LivenessDto)
  healthz(): LivenessDto {
    return this.live();
  }

  @Public()
  @Get('health/ready')
  @SkipThrottle()
  @ApiOperation({ summary: 'Readiness probe: database, Redis when configured; 503 while shutting down' })
  @ApiEnvelope(ReadinessDto)
  @ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
  ready(): Promise<ReadinessDto> {
    return this.health.readiness();
  }

  @Public()
  @Get('health')
  @RateLimit('health.detailed')
  @ApiOperation({ summary: 'Detailed health: status, uptime, services, version, environment' })
  @ApiEnvelope(HealthDto)
  @ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
  async detailed(): Promise<HealthDto> {
    const { healthy, report } = await this.health.detailed();
    if (!healthy) {
      throw new AppException(ErrorCode.SERVICE_UNAVAILABLE, 'One or more services are unhealthy', HttpStatus.SERVICE_UNAVAILABLE, { ...report });
    }
    return report;
  }

  @ApiTags('system')
  @ApiCookieAuth('cookie')
  @ApiBearerAuth('bearer')
  @Get('version')
  @RateLimit('version')
  @ApiErrors(HttpStatus.UNAUTHORIZED)
  @ApiOperation({ summary: 'Version, build time, commit and environment' })
  @ApiEnvelope(VersionDto)
  version(): VersionDto {
    return this.health.version();
  }
}
