import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { Request } from 'express';
import { AuthUser, CurrentUser } from '../../common/decorators/current-user.decorator';
import { IdParamDto } from '../../common/http/params.dto';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { ApiTokensService } from '../auth/api-tokens.service';
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

const toTokenDto = (t: TokenDto): TokenDto => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  createdAt: t.createdAt,
  lastUsedAt: t.lastUsedAt,
  expiresAt: t.expiresAt,
});

@ApiTags('profile')
@ApiCookieAuth('cookie')
@ApiBearerAuth('bearer')
@ApiErrors(HttpStatus.UNAUTHORIZED, HttpStatus.TOO_MANY_REQUESTS)
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
  @ApiOperation({ summary: 'Change password; other sessions are signed out' })
  @ApiEnvelope(MessageDto)
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto, @Req() req: Request): Promise<MessageDto> {
    await this.auth.changePassword(user, dto.currentPassword, dto.newPassword, req);
    return { message: 'Password changed' };
  }

  @Post('tokens')
  @RateLimit('profile.tokens')
  @ApiOperation({ summary: 'Create a personal API token (pk_…); the token is shown only in this response' })
  @ApiEnvelope(CreatedTokenDto, { status: HttpStatus.CREATED })
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async createToken(@CurrentUser() user: AuthUser, @Body() dto: CreateTokenDto, @Req() req: Request): Promise<CreatedTokenDto> {
    const { token, record } = await this.apiTokens.create(user, dto.name, dto.expiresInDays, req);
    return { ...toTokenDto(record), token };
  }

  @Get('tokens')
  @RateLimit('profile.read')
  @ApiOperation({ summary: 'List personal API tokens (never the tokens themselves)' })
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
