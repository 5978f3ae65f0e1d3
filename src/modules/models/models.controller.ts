import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { RawResponse } from '../../common/http/envelope';
import { SseWriter } from '../../common/http/sse';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { ModelLoadService } from './model-load.service';
import { LoadStartedDto, LoadStreamQueryDto, ModelListDto, ModelParamDto, ModelStatusDto } from './models.dto';
import { ModelsService } from './models.service';

@ApiTags('models')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiErrors(HttpStatus.UNAUTHORIZED, HttpStatus.TOO_MANY_REQUESTS)
@Controller('models')
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly loads: ModelLoadService,
  ) {}

  @Get()
  @RateLimit('models.list')
  @ApiOperation({ summary: 'The model catalog, each model marked available for the current user' })
  @ApiEnvelope(ModelListDto)
  async list(@CurrentUser() user: AuthUser): Promise<ModelListDto> {
    return { models: await this.models.list(user.id) };
  }

  @Get(':modelId/status')
  @RateLimit('models.status')
  @ApiOperation({ summary: 'Loading status of a model' })
  @ApiEnvelope(ModelStatusDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  async status(@CurrentUser() user: AuthUser, @Param() params: ModelParamDto): Promise<ModelStatusDto> {
    return this.loads.status(await this.models.find(params.modelId), user.id);
  }

  @Post(':modelId/load')
  @HttpCode(HttpStatus.ACCEPTED)
  @RateLimit('models.load')
  @ApiOperation({ summary: 'Load a local model (pull if missing); joins a load already running. Follow it at /load/stream' })
  @ApiEnvelope(LoadStartedDto, { status: HttpStatus.ACCEPTED })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY)
  async load(@Param() params: ModelParamDto): Promise<LoadStartedDto> {
    const job = this.loads.start(await this.models.find(params.modelId));
    return { modelId: job.modelId, jobId: job.id, status: job.state === 'loaded' ? 'loaded' : 'loading', estimatedTime: job.state === 'loading' ? 180 : null };
  }

  @Get(':modelId/load/stream')
  @RawResponse()
  @RateLimit('models.status')
  @ApiOperation({ summary: 'Load progress as Server-Sent Events: `progress`… then `loaded` or `error`' })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'event: progress {status, progress, message} … event: loaded {modelId, durationMs} | event: error {code, message}' })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  loadStream(@Param() params: ModelParamDto, @Query() query: LoadStreamQueryDto, @Res() res: Response): void {
    const job = this.loads.job(params.modelId, query.jobId);
    const sse = new SseWriter(res);
    const unsubscribe = this.loads.follow(
      job,
      (event, index) => sse.send(event.event, event.data, index),
      () => setImmediate(() => sse.end()),
    );
    res.on('close', unsubscribe);
  }
}
