import { Body, Controller, Delete, Get, HttpStatus, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuthUser, CurrentUser, Roles } from '../../common/decorators/current-user.decorator';
import { SessionOnly } from '../../common/decorators/scopes.decorator';
import { Paginated } from '../../common/http/envelope';
import { IdParamDto } from '../../common/http/params.dto';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import {
  AdminUserListDto,
  AdminUserResultDto,
  AuditListDto,
  AuditQueryDto,
  CreateUserDto,
  DeletedUserDto,
  ListUsersQueryDto,
  UpdateUserDto,
} from './admin.dto';
import { UsageQueryDto, UsageSummaryDto } from '../usage/usage.dto';
import { UsageService } from '../usage/usage.service';
import { AdminService } from './admin.service';

@ApiTags('admin')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@Roles('admin')
@SessionOnly()
@RateLimit('admin')
@ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS)
@Controller('admin')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly usage: UsageService,
  ) {}

  @Get('users')
  @ApiOperation({ summary: 'List users, newest first (cursor-paginated)' })
  @ApiEnvelope(AdminUserListDto, { paginated: true })
  listUsers(@Query() query: ListUsersQueryDto): Promise<Paginated<AdminUserListDto>> {
    return this.admin.listUsers(query);
  }

  @Post('users')
  @ApiOperation({ summary: 'Create a user' })
  @ApiEnvelope(AdminUserResultDto, { status: HttpStatus.CREATED })
  @ApiErrors(HttpStatus.CONFLICT)
  async createUser(@CurrentUser() admin: AuthUser, @Body() dto: CreateUserDto, @Req() req: Request): Promise<AdminUserResultDto> {
    return { user: await this.admin.createUser(admin, dto, req) };
  }

  @Get('users/:id')
  @ApiOperation({ summary: 'One user' })
  @ApiEnvelope(AdminUserResultDto)
  @ApiErrors(HttpStatus.NOT_FOUND)
  async getUser(@Param() params: IdParamDto): Promise<AdminUserResultDto> {
    return { user: await this.admin.getUser(params.id) };
  }

  @Patch('users/:id')
  @ApiOperation({ summary: 'Update, disable or re-enable a user, or reset their password' })
  @ApiEnvelope(AdminUserResultDto)
  @ApiErrors(HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY)
  async updateUser(
    @CurrentUser() admin: AuthUser,
    @Param() params: IdParamDto,
    @Body() dto: UpdateUserDto,
    @Req() req: Request,
  ): Promise<AdminUserResultDto> {
    return { user: await this.admin.updateUser(admin, params.id, dto, req) };
  }

  @Get('users/:id/usage')
  @ApiOperation({ operationId: 'adminGetUserUsage', summary: "A user's tokens and cost per model: chat, the /v1 gateway and /api/llm" })
  @ApiEnvelope(UsageSummaryDto)
  @ApiErrors(HttpStatus.NOT_FOUND)
  async getUserUsage(@Param() params: IdParamDto, @Query() query: UsageQueryDto): Promise<UsageSummaryDto> {
    await this.admin.getUser(params.id);
    return this.usage.summary(params.id, query.days);
  }

  @Delete('users/:id')
  @ApiOperation({ summary: 'Delete a user and everything they own' })
  @ApiEnvelope(DeletedUserDto)
  @ApiErrors(HttpStatus.NOT_FOUND, HttpStatus.UNPROCESSABLE_ENTITY)
  async deleteUser(@CurrentUser() admin: AuthUser, @Param() params: IdParamDto, @Req() req: Request): Promise<DeletedUserDto> {
    await this.admin.deleteUser(admin, params.id, req);
    return { deletedUser: params.id };
  }

  @Get('audit')
  @ApiOperation({ summary: 'Audit log, newest first (cursor-paginated)' })
  @ApiEnvelope(AuditListDto, { paginated: true })
  listAudit(@Query() query: AuditQueryDto): Promise<Paginated<AuditListDto>> {
    return this.admin.listAudit(query);
  }
}
