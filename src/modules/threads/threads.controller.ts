import { Body, Controller, Delete, Get, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { Scopes } from '../../common/decorators/scopes.decorator';
import { Paginated } from '../../common/http/envelope';
import { IdParamDto } from '../../common/http/params.dto';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import {
  CreatedThreadDto,
  CreateThreadDto,
  DeletedThreadDto,
  ListThreadsQueryDto,
  RenamedThreadDto,
  ThreadDetailResultDto,
  ThreadListDto,
  ThreadModelDto,
  UpdateTitleDto,
} from './threads.dto';
import { ThreadsService } from './threads.service';

@ApiTags('threads')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiExtraModels(ThreadModelDto)
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS)
@Controller('threads')
export class ThreadsController {
  constructor(private readonly threads: ThreadsService) {}

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
