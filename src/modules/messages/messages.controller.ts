import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtraModels, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { Paginated, RawResponse, successEnvelope } from '../../common/http/envelope';
import { requestIdOf } from '../../common/http/request-id';
import { SseWriter } from '../../common/http/sse';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { ConcurrencyLimiter } from '../../common/throttling/concurrency-limiter';
import { RateLimit } from '../../common/throttling/rate-limits';
import { AppConfig } from '../../config/app.config';
import { SequencedEvent } from '../../infra/stream-bus/stream-bus';
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

const SSE_DESCRIPTION =
  'With `stream: true`: `text/event-stream` of `message_start` {messageId, userMessageId, timestamp}, ' +
  '`token` {token, messageId}…, then `message_complete` {messageId, totalTokens, finishReason, timestamp} or ' +
  '`error` {code, message, messageId}, then `close` {}. Each event has an `id:` for Last-Event-ID; heartbeats are comments.';

const ANSWER_EVENTS = {
  message_start: MessageStartEventDto,
  token: TokenEventDto,
  message_complete: MessageCompleteEventDto,
  error: MessageErrorEventDto,
  close: CloseEventDto,
};
const ANSWER_STREAM = sseMediaType(SSE_DESCRIPTION, ANSWER_EVENTS, 'id: 1\nevent: message_start\ndata: {"messageId":"…","timestamp":"…"}\n\n');

/** Writes bus events as SSE frames until `close`, or until the client goes away. */
async function pipeEvents(sse: SseWriter, events: AsyncIterable<SequencedEvent>): Promise<void> {
  for await (const e of events) {
    sse.send(e.event, e.data, e.id);
    if (e.event === 'close') break;
  }
  sse.end();
}

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
  @ApiErrors(HttpStatus.CONFLICT, HttpStatus.UNPROCESSABLE_ENTITY, HttpStatus.BAD_GATEWAY)
  async send(@CurrentUser() user: AuthUser, @Param() p: ThreadModelParamsDto, @Body() dto: SendMessageDto, @Res() res: Response): Promise<void> {
    if (!dto.stream) {
      const exchange = await this.messages.exchange(user.id, p.threadId, p.modelId, dto.content, dto.temperature);
      res.status(HttpStatus.OK).json(successEnvelope(exchange, requestIdOf(res.req)));
      return;
    }
    // The stream's slot is taken before the answer starts, so a refused stream costs nothing.
    this.limiter.holdStream(user, res);
    const started = await this.messages.start(user.id, p.threadId, p.modelId, dto.content, dto.temperature);
    const sse = new SseWriter(res);
    const reading = new AbortController();
    res.on('close', () => {
      reading.abort();
      // By default the answer is finished and stored for a later reconnect.
      if (this.config.ABORT_GENERATION_ON_DISCONNECT && !sse.isClosed) void this.messages.cancel(user.id, p.threadId, p.modelId, started.assistantMessageId).catch(() => undefined);
    });
    const events = await this.messages.events(user.id, p.threadId, p.modelId, started.assistantMessageId, 0, reading.signal);
    await pipeEvents(sse, events);
  }

  @Get(':messageId/stream')
  @Scopes('threads:read')
  @RawResponse()
  @RateLimit('messages.list')
  @ApiOperation({ summary: 'Re-attach to an answer (another tab or device): events after Last-Event-ID, then live ones' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received' })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: SSE_DESCRIPTION, content: { 'text/event-stream': ANSWER_STREAM } })
  async resume(@CurrentUser() user: AuthUser, @Param() p: MessageParamsDto, @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response): Promise<void> {
    const after = /^\d{1,9}$/.test(lastEventId ?? '') ? Number(lastEventId) : 0;
    this.limiter.holdStream(user, res);
    const reading = new AbortController();
    const events = await this.messages.events(user.id, p.threadId, p.modelId, p.messageId, after, reading.signal);
    const sse = new SseWriter(res);
    res.on('close', () => reading.abort());
    await pipeEvents(sse, events);
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
