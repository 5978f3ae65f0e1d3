import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { Request } from 'express';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { SessionOnly } from '../../common/decorators/scopes.decorator';
import { IdParamDto } from '../../common/http/params.dto';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { ApiToken } from '../../infra/database/generated/client';
import { ApiTokensService, scopesOf } from '../auth/api-tokens.service';
import { MessageDto } from '../auth/auth.dto';
import { AuthService } from '../auth/auth.service';
import {
  ApiKeysResultDto,
  ChangePasswordDto,
  CreatedTokenDto,
  CreateTokenDto,
  DeletedApiKeyDto,
  KEY_PROVIDERS,
  KeyProvider,
  ProfileDto,
  RevokedTokenDto,
  SetApiKeysDto,
  TokenDto,
  TokenListDto,
  UpdatedProfileDto,
  UpdateProfileDto,
} from './profile.dto';
import { ProfileService } from './profile.service';

class ProviderParamDto {
  @ApiProperty({ enum: KEY_PROVIDERS })
  @IsIn(KEY_PROVIDERS)
  provider: KeyProvider;
}

const toTokenDto = (t: ApiToken): TokenDto => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.createdAt,
  scopes: scopesOf(t),
  lastUsedAt: t.lastUsedAt,
  expiresAt: t.expiresAt,
});

/**
 * The account itself and its credentials: signed-in sessions only. A personal token gets
 * 403 here whatever its scopes, so it can neither mint tokens that outlive it, swap
 * provider keys nor change the password.
 */
@ApiTags('profile')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiErrors(HttpStatus.UNAUTHORIZED, HttpStatus.FORBIDDEN, HttpStatus.TOO_MANY_REQUESTS)
@SessionOnly()
@Controller('profile')
export class ProfileController {
  constructor(
    private readonly profile: ProfileService,
    private readonly apiTokens: ApiTokensService,
    private readonly auth: AuthService,
  ) {}

  @Get()
  @RateLimit('profile.read')
  @ApiOperation({ summary: 'The signed-in user, settings and which provider keys are configured' })
  @ApiEnvelope(ProfileDto)
  async get(@CurrentUser() user: AuthUser): Promise<ProfileDto> {
    return { user: await this.profile.get(user) };
  }

  @Patch()
  @RateLimit('profile.update')
  @ApiOperation({ summary: 'Update display name and settings' })
  @ApiEnvelope(UpdatedProfileDto)
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async update(@CurrentUser() user: AuthUser, @Body() dto: UpdateProfileDto): Promise<UpdatedProfileDto> {
    return { user: await this.profile.update(user, dto) };
  }

  @Post('api-keys')
  @HttpCode(HttpStatus.OK)
  @RateLimit('profile.apiKeys')
  @ApiOperation({ summary: 'Add or replace provider API keys (stored encrypted, never returned)' })
  @ApiEnvelope(ApiKeysResultDto)
  @ApiErrors(HttpStatus.BAD_REQUEST)
  setKeys(@CurrentUser() user: AuthUser, @Body() dto: SetApiKeysDto, @Req() req: Request): Promise<ApiKeysResultDto> {
    return this.profile.setKeys(user, dto, req);
  }

  @Delete('api-keys/:provider')
  @RateLimit('profile.apiKeys')
  @ApiOperation({ summary: 'Remove a provider API key' })
  @ApiEnvelope(DeletedApiKeyDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  async deleteKey(@CurrentUser() user: AuthUser, @Param() params: ProviderParamDto, @Req() req: Request): Promise<DeletedApiKeyDto> {
    await this.profile.deleteKey(user, params.provider, req);
    return { deleted: params.provider };
  }

  @Post('password')
  @HttpCode(HttpStatus.OK)
  @RateLimit('profile.password')
  @ApiOperation({ summary: 'Change password; other sessions are signed out and every personal API token is revoked' })
  @ApiEnvelope(MessageDto)
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto, @Req() req: Request): Promise<MessageDto> {
    await this.auth.changePassword(user, dto.currentPassword, dto.newPassword, req);
    return { message: 'Password changed' };
  }

  @Post('tokens')
  @RateLimit('profile.tokens')
  @ApiOperation({
    summary: 'Create a personal API token (pk_…) with scopes and an expiry; the token is shown only in this response',
    description: 'At most API_TOKENS_MAX_PER_USER (default 20) active tokens per user: 409 CONFLICT past it.',
  })
  @ApiEnvelope(CreatedTokenDto, { status: HttpStatus.CREATED })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.CONFLICT)
  async createToken(@CurrentUser() user: AuthUser, @Body() dto: CreateTokenDto, @Req() req: Request): Promise<CreatedTokenDto> {
    const { token, record } = await this.apiTokens.create(user, { name: dto.name, scopes: dto.scopes, expiresInDays: dto.expiresInDays }, req);
    return { ...toTokenDto(record), token };
  }

  @Get('tokens')
  @RateLimit('profile.read')
  @ApiOperation({ summary: 'List personal API tokens with their scopes and expiry (never the tokens themselves)' })
  @ApiEnvelope(TokenListDto)
  async listTokens(@CurrentUser() user: AuthUser): Promise<TokenListDto> {
    return { tokens: (await this.apiTokens.list(user)).map(toTokenDto) };
  }

  @Delete('tokens/:id')
  @RateLimit('profile.tokens')
  @ApiOperation({ summary: 'Revoke a personal API token' })
  @ApiEnvelope(RevokedTokenDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.NOT_FOUND)
  async revokeToken(@CurrentUser() user: AuthUser, @Param() params: IdParamDto, @Req() req: Request): Promise<RevokedTokenDto> {
    await this.apiTokens.revoke(user, params.id, req);
    return { revoked: params.id };
  }
}
