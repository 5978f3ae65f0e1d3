import { Body, Controller, HttpCode, HttpStatus, Post, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtraModels, ApiOperation, ApiProduces, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { AppException } from '../../common/errors/app.exception';
import { RawResponse } from '../../common/http/envelope';
import { abortOnDisconnect, SseWriter } from '../../common/http/sse';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { ConcurrencyLimiter } from '../../common/throttling/concurrency-limiter';
import { RateLimit } from '../../common/throttling/rate-limits';
import { sseMediaType, StreamErrorEventDto } from '../../common/openapi/sse';
import { LlmCompleteDto, LlmCompletionDto, LlmDeltaEventDto, LlmDoneEventDto, LlmPromptDto, LlmStreamQueryDto } from './llm.dto';

const STREAM_DESCRIPTION =
  'Frames without an event name (`message`): `{"delta":"…"}`…, then `{"done":true,"content":"…"}`; a failure after the first frame is an `event: error` {code, message}';
const STREAM_RESPONSE = {
  status: 200,
  description: STREAM_DESCRIPTION,
  content: {
    'text/event-stream': sseMediaType(
      STREAM_DESCRIPTION,
      { message: { oneOf: [{ $ref: getSchemaPath(LlmDeltaEventDto) }, { $ref: getSchemaPath(LlmDoneEventDto) }] }, error: StreamErrorEventDto },
      'data: {"delta":"Hel"}\n\ndata: {"done":true,"content":"Hello"}\n\n',
    ),
  },
};
import { LlmService } from './llm.service';

@ApiTags('llm')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY, HttpStatus.TOO_MANY_REQUESTS, HttpStatus.BAD_GATEWAY)
@ApiExtraModels(LlmDeltaEventDto, LlmDoneEventDto, StreamErrorEventDto)
@RateLimit('llm')
@Controller('llm')
@Scopes('models')
export class LlmController {
  constructor(
    private readonly llm: LlmService,
    private readonly limiter: ConcurrencyLimiter,
  ) {}

  @Post('complete')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    operationId: 'llmComplete',
    summary: 'One prompt, one answer (stateless); answers may be cached (LLM_CACHE_ENABLED). 422 CONTENT_REJECTED for banned terms or an over-long prompt',
  })
  @ApiEnvelope(LlmCompletionDto)
  async complete(@CurrentUser() user: AuthUser, @Body() dto: LlmCompleteDto, @Res({ passthrough: true }) res: Response): Promise<LlmCompletionDto | undefined> {
    this.limiter.holdCall(user, res);
    const signal = abortOnDisconnect(res);
    try {
      return await this.llm.complete(user, dto, signal);
    } catch (error) {
      // The client left: nobody to answer, nothing to report.
      if (!signal.aborted) throw error;
      return undefined;
    }
  }

  @Get('stream')
  @RawResponse()
  @ApiOperation({
    operationId: 'llmStream',
    summary: 'One prompt, streamed: `data: {"delta":"…"}` frames, then `data: {"done":true,"content":"…"}`; a failure after the first frame is an `event: error` frame',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse(STREAM_RESPONSE)
  async stream(@CurrentUser() user: AuthUser, @Query() query: LlmStreamQueryDto, @Res() res: Response): Promise<void> {
    this.limiter.holdCall(user, res, { stream: true });
    const call = await this.llm.prepare(user, query);
    const signal = abortOnDisconnect(res);
    const frames = this.llm.stream(call, signal)[Symbol.asyncIterator]();
    // Failures before the first frame (key refused, provider rate limit) are plain HTTP errors.
    let next = await frames.next();
    const sse = new SseWriter(res);
    try {
      for (; !next.done; next = await frames.next()) sse.data(next.value);
    } catch (error) {
      if (error instanceof AppException && !signal.aborted) sse.send('error', { code: error.code, message: error.message });
    } finally {
      await frames.return?.();
      sse.end();
    }
  }

  /** The same stream with the parameters in a JSON body: the prompt stays out of URLs (logs, history, referrers). */
  @Post('stream')
  @HttpCode(HttpStatus.OK)
  @RawResponse()
  @ApiOperation({
    operationId: 'llmStreamPost',
    summary: 'As GET /api/llm/stream, with the parameters in a JSON body (same fields): SSE `data: {"delta":"…"}` frames, then `data: {"done":true,"content":"…"}`',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse(STREAM_RESPONSE)
  streamPost(@CurrentUser() user: AuthUser, @Body() body: LlmPromptDto, @Res() res: Response): Promise<void> {
    return this.stream(user, body, res);
  }
}
