import { Controller, Get, HttpStatus, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { UsageQueryDto, UsageSummaryDto } from './usage.dto';
import { UsageService } from './usage.service';

@ApiTags('usage')
@ApiCookieAuth()
@ApiBearerAuth()
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS)
@Controller('usage')
@Scopes('threads:read')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @RateLimit('usage')
  @ApiOperation({ operationId: 'getUsage', summary: 'Your tokens and cost per model: chat, the /v1 gateway and /api/llm' })
  @ApiEnvelope(UsageSummaryDto)
  summary(@CurrentUser() user: AuthUser, @Query() query: UsageQueryDto): Promise<UsageSummaryDto> {
    return this.usage.summary(user.id, query.days);
  }
}
