import { Controller, Get, Header, HttpCode, HttpStatus, MessageEvent, Param, Post, Query, Req, Sse, SseSignal } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtraModels, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes, SessionOnly } from '../../common/decorators/scopes.decorator';
import { RawResponse } from '../../common/http/envelope';
import { SseStreams } from '../../common/http/sse-streams';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { sseMediaType, sseModels, StreamErrorEventDto } from '../../common/openapi/sse';
import { ConcurrencyLimiter } from '../../common/throttling/concurrency-limiter';
import { RateLimit } from '../../common/throttling/rate-limits';
import { AuditAction, AuditService } from '../audit/audit.service';
import { ModelLoadService } from './model-load.service';
import { LoadProgressEventDto, LoadStartedDto, LoadStreamQueryDto, ModelListDto, ModelLoadedEventDto, ModelParamDto, ModelStatusDto } from './models.dto';

const LOAD_EVENTS = { progress: LoadProgressEventDto, loaded: ModelLoadedEventDto, error: StreamErrorEventDto };
const LOAD_DESCRIPTION = '`progress` {status, progress, message}… then `loaded` {modelId, durationMs} or `error` {code, message}; each event has an `id:`';
import { ModelsService } from './models.service';

@ApiTags('models')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiErrors(HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS)
@ApiExtraModels(...sseModels(LOAD_EVENTS))
@Controller('models')
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly loads: ModelLoadService,
    private readonly limiter: ConcurrencyLimiter,
    private readonly audit: AuditService,
    private readonly streams: SseStreams,
  ) {}

  @Get()
  @Scopes('models')
  @RateLimit('models.list')
  @ApiOperation({ summary: 'The model catalog, each model marked available for the current user' })
  @ApiEnvelope(ModelListDto)
  async list(@CurrentUser() user: AuthUser): Promise<ModelListDto> {
    return { models: await this.models.list(user.id) };
  }

  @Get(':modelId/status')
  @Scopes('models')
  @RateLimit('models.status')
  @ApiOperation({ summary: 'Loading status of a model' })
  @ApiEnvelope(ModelStatusDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  async status(@CurrentUser() user: AuthUser, @Param() params: ModelParamDto): Promise<ModelStatusDto> {
    return this.loads.status(await this.models.find(params.modelId), user);
  }

  @Post(':modelId/load')
  // Loading (pulling) models is operating the server: not for personal tokens.
  @SessionOnly()
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimit('models.load')
  @ApiOperation({
    summary: 'Load a local model (pull if missing); joins a load already running. Follow it at /load/stream. Admins only unless MODEL_LOADS=users',
  })
  @ApiEnvelope(LoadStartedDto, { status: HttpStatus.ACCEPTED })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY)
  async load(@CurrentUser() user: AuthUser, @Param() params: ModelParamDto, @Req() req: Request): Promise<LoadStartedDto> {
    this.loads.assertMayLoad(user);
    const { job, joined } = this.loads.start(user, await this.models.find(params.modelId));
    await this.audit.record(req, { action: AuditAction.ModelLoadRequested, actorId: user.id, target: job.modelId, metadata: { jobId: job.id, joined } });
    return { modelId: job.modelId, jobId: job.id, status: job.state === 'loaded' ? 'loaded' : 'loading', estimatedTime: job.state === 'loading' ? 180 : null };
  }

  @Sse(':modelId/load/stream')
  @SessionOnly()
  @RawResponse()
  @Header('X-Accel-Buffering', 'no')
  @RateLimit('models.status')
  @ApiOperation({ summary: 'Load progress as Server-Sent Events: `progress`… then `loaded` or `error`. Only for users who may load models' })
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description: LOAD_DESCRIPTION,
    content: { 'text/event-stream': sseMediaType(LOAD_DESCRIPTION, LOAD_EVENTS, 'id: 0\nevent: progress\ndata: {"status":"pulling","progress":12,"message":"pulling manifest"}\n\n') },
  })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, HttpStatus.NOT_FOUND)
  loadStream(@CurrentUser() user: AuthUser, @Param() params: ModelParamDto, @Query() query: LoadStreamQueryDto, @Req() req: Request, @SseSignal() signal: AbortSignal): Observable<MessageEvent> {
    const job = this.loads.job(user, params.modelId, query.jobId);
    this.limiter.holdStream(user, req.res!);
    return this.streams.observe(this.loads.events(job, signal));
  }

}
