import { Body, Controller, Delete, Get, Header, HttpStatus, MessageEvent, Param, Patch, Post, Query, Req, Sse, SseSignal, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtraModels, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { Paginated, RawResponse } from '../../common/http/envelope';
import { SseStreams } from '../../common/http/sse-streams';
import { sseMediaType, sseModels } from '../../common/openapi/sse';
import { ConcurrencyLimiter } from '../../common/throttling/concurrency-limiter';
import { IdParamDto } from '../../common/http/params.dto';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import {
  CreatedThreadDto,
  CreateThreadDto,
  DeletedThreadDto,
  ThreadMessageCompleteEventDto,
  ThreadMessageErrorEventDto,
  ThreadMessageStartEventDto,
  ThreadUpdatedEventDto,
  ListThreadsQueryDto,
  RenamedThreadDto,
  ThreadDetailResultDto,
  ThreadListDto,
  ThreadModelDto,
  UpdateTitleDto,
} from './threads.dto';
import { ThreadEvents } from './thread-events';
import { ThreadsService } from './threads.service';
import { ThreadOwnerGuard } from './thread-owner.guard';

const THREAD_EVENTS = {
  message_start: ThreadMessageStartEventDto,
  message_complete: ThreadMessageCompleteEventDto,
  message_error: ThreadMessageErrorEventDto,
  thread_updated: ThreadUpdatedEventDto,
};
const THREAD_EVENTS_DESCRIPTION =
  'Live sync for the thread owner\'s other tabs and devices, from whichever server they reach: `message_start` {threadId, messageId, modelId, userMessageId} ' +
  'when an answer starts (attach to it with the message stream), `message_complete` / `message_error` when it ends, `thread_updated` {threadId, title?, summaryModelId?}. ' +
  'Announcements are not replayed on reconnect: refetch the thread then. Heartbeats are comments.';

@ApiTags('threads')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiExtraModels(ThreadModelDto, ...sseModels(THREAD_EVENTS))
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS)
@Controller('threads')
export class ThreadsController {
  constructor(
    private readonly threads: ThreadsService,
    private readonly events: ThreadEvents,
    private readonly streams: SseStreams,
    private readonly limiter: ConcurrencyLimiter,
  ) {}

  @Sse(':id/events')
  @UseGuards(ThreadOwnerGuard)
  @Scopes('threads:read')
  @RawResponse()
  @Header('X-Accel-Buffering', 'no')
  @RateLimit('threads.list')
  @ApiOperation({ summary: 'Follow a thread: answers starting and ending, title and summary changes (SSE)' })
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description: THREAD_EVENTS_DESCRIPTION,
    content: { 'text/event-stream': sseMediaType(THREAD_EVENTS_DESCRIPTION, THREAD_EVENTS, 'event: message_start\ndata: {"threadId":"…","messageId":"…","modelId":"gpt-4o","userMessageId":"…"}\n\n') },
  })
  @ApiErrors(HttpStatus.NOT_FOUND)
  async follow(@CurrentUser() user: AuthUser, @Param() params: IdParamDto, @Req() req: Request, @SseSignal() signal: AbortSignal): Promise<Observable<MessageEvent>> {
    this.limiter.holdStream(user, req.res!);
    return this.streams.observe(await this.events.follow(params.id, signal));
  }

  @Get()
  @Scopes('threads:read')
  @RateLimit('threads.list')
  @ApiOperation({ summary: "The user's threads, newest first, cursor-paginated; `q` searches titles, summaries and messages" })
  @ApiEnvelope(ThreadListDto, { paginated: true })
  list(@CurrentUser() user: AuthUser, @Query() query: ListThreadsQueryDto): Promise<Paginated<ThreadListDto>> {
    return this.threads.list(user.id, query);
  }

  @Post()
  @Scopes('threads:write')
  @RateLimit('threads.create')
  @ApiOperation({ summary: 'Create a thread' })
  @ApiEnvelope(CreatedThreadDto, { status: HttpStatus.CREATED })
  async create(@CurrentUser() user: AuthUser, @Body() dto: CreateThreadDto): Promise<CreatedThreadDto> {
    return { thread: await this.threads.create(user.id, dto) };
  }

  @Get(':id')
  @Scopes('threads:read')
  @RateLimit('threads.read')
  @ApiOperation({ summary: 'Thread metadata with per-model counts and summaries' })
  @ApiEnvelope(ThreadDetailResultDto)
  @ApiErrors(HttpStatus.NOT_FOUND)
  async get(@CurrentUser() user: AuthUser, @Param() params: IdParamDto): Promise<ThreadDetailResultDto> {
    return { thread: await this.threads.get(user.id, params.id) };
  }

  @Patch(':id/title')
  @Scopes('threads:write')
  @RateLimit('threads.rename')
  @ApiOperation({ summary: 'Rename a thread' })
  @ApiEnvelope(RenamedThreadDto)
  @ApiErrors(HttpStatus.NOT_FOUND)
  async rename(@CurrentUser() user: AuthUser, @Param() params: IdParamDto, @Body() dto: UpdateTitleDto): Promise<RenamedThreadDto> {
    return { thread: await this.threads.rename(user.id, params.id, dto.title) };
  }

  @Delete(':id')
  @Scopes('threads:write')
  @RateLimit('threads.delete')
  @ApiOperation({ summary: 'Delete a thread with its messages and contexts' })
  @ApiEnvelope(DeletedThreadDto)
  @ApiErrors(HttpStatus.NOT_FOUND)
  delete(@CurrentUser() user: AuthUser, @Param() params: IdParamDto): Promise<DeletedThreadDto> {
    return this.threads.delete(user.id, params.id);
  }
}
