import { Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { ThreadModelParamsDto } from '../messages/messages.dto';
import { ThreadsService } from '../threads/threads.service';
import { SummaryDto } from './summarization.dto';
import { SummarizationService } from './summarization.service';

@ApiTags('messages')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@Controller('threads/:threadId/models/:modelId/summarize')
export class SummarizationController {
  constructor(
    private readonly threads: ThreadsService,
    private readonly summaries: SummarizationService,
  ) {}

  @Post()
  @Scopes('threads:write')
  @HttpCode(HttpStatus.OK)
  @RateLimit('messages.summarize')
  @ApiOperation({ summary: "Summarize this model's conversation now (300–700 tokens)" })
  @ApiEnvelope(SummaryDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY, HttpStatus.TOO_MANY_REQUESTS)
  async summarize(@CurrentUser() user: AuthUser, @Param() p: ThreadModelParamsDto): Promise<SummaryDto> {
    await this.threads.owned(user.id, p.threadId);
    return this.summaries.summarize(user.id, p.threadId, p.modelId);
  }
}
