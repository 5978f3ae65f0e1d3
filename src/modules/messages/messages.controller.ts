import { Body, Controller, Get, Header, Headers, HttpCode, HttpStatus, MessageEvent, Param, Post, Query, Req, Res, Sse, SseSignal, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtraModels, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Observable } from 'rxjs';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { Paginated, RawResponse, successEnvelope } from '../../common/http/envelope';
import { requestIdOf } from '../../common/http/request-id';
import { SseStreams } from '../../common/http/sse-streams';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { ConcurrencyLimiter } from '../../common/throttling/concurrency-limiter';
import { RateLimit } from '../../common/throttling/rate-limits';
import { AppConfig } from '../../config/app.config';
import { sseMediaType, sseModels } from '../../common/openapi/sse';
import {
  CancelledDto,
  CloseEventDto,
  ExchangeDto,
  ListMessagesQueryDto,
  MessageCompleteEventDto,
  MessageErrorEventDto,
  MessageListDto,
  MessageParamsDto,
  MessageStartEventDto,
  SendMessageDto,
  ThreadModelParamsDto,
  TokenEventDto,
} from './messages.dto';
import { MessagesService } from './messages.service';
import { AnswerReadableGuard } from './answer-readable.guard';

const SSE_DESCRIPTION =
  'With `stream: true`: `text/event-stream` of `message_start` {messageId, userMessageId, timestamp}, ' +
  '`token` {token, messageId}…, then `message_complete` {messageId, totalTokens, finishReason, timestamp} or ' +
  '`error` {code, message, messageId}, then `close` {}. Each event has an `id:` for Last-Event-ID: `0` for `message_start`, ' +
  "a token's id is the answer's length in UTF-16 code units once the token is appended, `<length>.1` the terminal event and `<length>.2` `close`; " +
  'resuming with any id received gives exactly the rest, live or from the stored answer. Heartbeats are comments.';

const ANSWER_EVENTS = {
  message_start: MessageStartEventDto,
  token: TokenEventDto,
  message_complete: MessageCompleteEventDto,
  error: MessageErrorEventDto,
  close: CloseEventDto,
};
const ANSWER_STREAM = sseMediaType(SSE_DESCRIPTION, ANSWER_EVENTS, 'id: 0\nevent: message_start\ndata: {"messageId":"…","timestamp":"…"}\n\n');

@ApiTags('messages')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiExtraModels(ExchangeDto, ...sseModels(ANSWER_EVENTS))
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, HttpStatus.TOO_MANY_REQUESTS)
@Controller('threads/:threadId/models/:modelId/messages')
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly config: AppConfig,
    private readonly limiter: ConcurrencyLimiter,
    private readonly streams: SseStreams,
  ) {}

  @Get()
  @Scopes('threads:read')
  @RateLimit('messages.list')
  @ApiOperation({ summary: "One model's messages in a thread, cursor-paginated" })
  @ApiEnvelope(MessageListDto, { paginated: true })
  list(@CurrentUser() user: AuthUser, @Param() p: ThreadModelParamsDto, @Query() query: ListMessagesQueryDto): Promise<Paginated<MessageListDto>> {
    return this.messages.list(user.id, p.threadId, p.modelId, query);
  }

  @Post()
  @Scopes('threads:write')
  @HttpCode(HttpStatus.OK)
  @RawResponse()
  @RateLimit('messages.send')
  @ApiOperation({ summary: 'Send a message to a model and get its answer, whole or streamed (SSE)' })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiResponse({
    status: 200,
    description: `The exchange (envelope). ${SSE_DESCRIPTION}`,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['success', 'data', 'timestamp', 'requestId'],
          properties: {
            success: { type: 'boolean', enum: [true] },
            data: { $ref: getSchemaPath(ExchangeDto) },
            timestamp: { type: 'string', format: 'date-time' },
            requestId: { type: 'string' },
          },
        },
      },
      'text/event-stream': ANSWER_STREAM,
    },
  })
  @ApiErrors(HttpStatus.CONFLICT, HttpStatus.PAYLOAD_TOO_LARGE, HttpStatus.UNPROCESSABLE_ENTITY, HttpStatus.BAD_GATEWAY)
  async send(@CurrentUser() user: AuthUser, @Param() p: ThreadModelParamsDto, @Body() dto: SendMessageDto, @Res() res: Response): Promise<void> {
    if (!dto.stream) {
      const exchange = await this.messages.exchange(user.id, p.threadId, p.modelId, dto);
      res.status(HttpStatus.OK).json(successEnvelope(exchange, requestIdOf(res.req)));
      return;
    }
    // The stream's slot is taken before the answer starts, so a refused stream costs nothing.
    this.limiter.holdStream(user, res);
    const started = await this.messages.start(user.id, p.threadId, p.modelId, dto);
    const reading = new AbortController();
    res.on('close', () => {
      reading.abort();
      // By default the answer is finished and stored for a later reconnect.
      if (this.config.ABORT_GENERATION_ON_DISCONNECT && !res.writableFinished) void this.messages.cancel(user.id, p.threadId, p.modelId, started.assistantMessageId).catch(() => undefined);
    });
    await this.streams.pipe(res, this.messages.startedEvents(started.assistantMessageId, reading.signal), { last: 'close' });
  }

  @Sse(':messageId/stream')
  @UseGuards(AnswerReadableGuard)
  @Scopes('threads:read')
  @RawResponse()
  @Header('X-Accel-Buffering', 'no')
  @RateLimit('messages.list')
  @ApiOperation({ summary: 'Re-attach to an answer (another tab or device): events after Last-Event-ID, then live ones' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received' })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: SSE_DESCRIPTION, content: { 'text/event-stream': ANSWER_STREAM } })
  async resume(
    @CurrentUser() user: AuthUser,
    @Param() p: MessageParamsDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @SseSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    this.limiter.holdStream(user, req.res!);
    const events = await this.messages.events(user.id, p.threadId, p.modelId, p.messageId, lastEventId, signal);
    return this.streams.observe(events, { last: 'close' });
  }

  @Post(':messageId/cancel')
  @Scopes('threads:write')
  @HttpCode(HttpStatus.OK)
  @RateLimit('messages.send')
  @ApiOperation({ summary: 'Stop an answer being generated; it is stored as cancelled with its text so far' })
  @ApiEnvelope(CancelledDto)
  @ApiErrors(HttpStatus.CONFLICT)
  async cancel(@CurrentUser() user: AuthUser, @Param() p: MessageParamsDto): Promise<CancelledDto> {
    await this.messages.cancel(user.id, p.threadId, p.modelId, p.messageId);
    return { messageId: p.messageId, cancelled: true };
  }
}
