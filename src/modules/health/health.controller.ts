import { Controller, Get, HttpStatus } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../../common/decorators/public.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { HealthDto, LivenessDto, ReadinessDto, VersionDto } from './health.dto';
import { HealthService } from './health.service';

/** Kubernetes probes and service information. Probes are public, never throttled, logged at debug. */
@ApiTags('health')
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Public()
  @Get('health/live')
  @ApiOperation({ summary: 'Liveness probe: the process answers; checks no dependency' })
  @ApiEnvelope(LivenessDto)
  live(): LivenessDto {
    return { status: 'ok' };
  }

  /** Excluded from the /api prefix: seed 000's alias of liveness. */
  @Public()
  @Get('healthz')
  @ApiOperation({ summary: 'Liveness probe alias (/healthz)' })
  @ApiEnvelope(LivenessDto)
  healthz(): LivenessDto {
    return this.live();
  }

  @Public()
  @Get('health/ready')
  @ApiOperation({ summary: 'Readiness probe: database, Redis when configured; 503 while shutting down' })
  @ApiEnvelope(ReadinessDto)
  @ApiErrors(HttpStatus.SERVICE_UNAVAILABLE)
  ready(): Promise<ReadinessDto> {
    return this.health.readiness();
  }

  @Public()
  @Get('health')
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
  @Get('version')
  @ApiOperation({ summary: 'Version, build time, commit and environment' })
  @ApiEnvelope(VersionDto)
  version(): VersionDto {
    return this.health.version();
  }
}
