import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import type { Role } from '../../common/decorators/current-user.decorator';
import { TOKEN_SCOPES, TokenScope } from '../../common/decorators/scopes.decorator';
import { IsOptionalNonNull } from '../../common/http/optional';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/auth.dto';

export const SYSTEM_PROMPT_MAX_LENGTH = 8000;
/** Providers a user can bring a key for; the names are seed 001's. */
export const KEY_PROVIDERS = ['claude', 'openai', 'google'] as const;
export type KeyProvider = (typeof KEY_PROVIDERS)[number];

export class SettingsDto {
  @ApiPropertyOptional({ type: String, nullable: true, example: 'claude-opus' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  defaultModel?: string | null;

  @ApiPropertyOptional({ minimum: 0, maximum: 2, example: 0.7 })
  @IsOptionalNonNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  defaultTemperature?: number;

  @ApiPropertyOptional({ maxLength: SYSTEM_PROMPT_MAX_LENGTH, example: 'You are a helpful assistant...' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(SYSTEM_PROMPT_MAX_LENGTH)
  systemPrompt?: string;
}

export class UpdateProfileDto {
  @ApiPropertyOptional({ example: 'John Smith' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(100)
  displayName?: string;

  @ApiPropertyOptional({ type: SettingsDto })
  @IsOptionalNonNull()
  @IsObject()
  @ValidateNested()
  @Type(() => SettingsDto)
  settings?: SettingsDto;
}

export class ProviderKeyStatusDto {
  @ApiProperty()
  configured: boolean;
  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true })
  lastUsed?: Date | null;
  /** Last four characters of the key, to tell keys apart. */
  @ApiPropertyOptional({ example: 'x9Qz' })
  last4?: string;
}

export class ApiKeysStatusDto {
  @ApiProperty({ type: ProviderKeyStatusDto })
  claude: ProviderKeyStatusDto;
  @ApiProperty({ type: ProviderKeyStatusDto })
  openai: ProviderKeyStatusDto;
  @ApiProperty({ type: ProviderKeyStatusDto })
  google: ProviderKeyStatusDto;
}

export class ProfileUserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'user@example.com' })
  username: string;
  @ApiProperty({ type: String, nullable: true })
  displayName: string | null;
  @ApiProperty({ enum: ['user', 'admin'] })
  role: Role;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
  @ApiProperty({ type: SettingsDto })
  settings: SettingsDto;
  @ApiProperty({ type: ApiKeysStatusDto })
  apiKeys: ApiKeysStatusDto;
}

export class ProfileDto {
  @ApiProperty({ type: ProfileUserDto })
  user: ProfileUserDto;
}

export class UpdatedProfileUserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty()
  username: string;
  @ApiProperty({ type: String, nullable: true })
  displayName: string | null;
  @ApiProperty({ type: SettingsDto })
  settings: SettingsDto;
}

export class UpdatedProfileDto {
  @ApiProperty({ type: UpdatedProfileUserDto })
  user: UpdatedProfileUserDto;
}

const IsProviderKey = () =>
  applyDecorators(IsOptionalNonNull(), IsString(), MinLength(8), MaxLength(512), Matches(/^\S+$/, { message: '$property must not contain spaces' }));

/** Keys to add or replace; at least one. */
export class SetApiKeysDto {
  @ApiPropertyOptional({ example: 'sk-ant-api03-...' })
  @IsProviderKey()
  claude?: string;

  @ApiPropertyOptional({ example: 'sk-proj-...' })
  @IsProviderKey()
  openai?: string;

  @ApiPropertyOptional({ example: 'AIza...' })
  @IsProviderKey()
  google?: string;
}

export class ApiKeysResultDto {
  @ApiProperty({ enum: KEY_PROVIDERS, isArray: true, example: ['claude', 'openai'] })
  updated: KeyProvider[];
  /** Whether each submitted key was accepted by its provider. */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'boolean' }, example: { claude: true, openai: false } })
  verified: Partial<Record<KeyProvider, boolean>>;
  /** Why a key is not verified. */
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { openai: 'Key verification is not available yet' } })
  reasons: Partial<Record<KeyProvider, string>>;
}

export class DeletedApiKeyDto {
  @ApiProperty({ enum: KEY_PROVIDERS })
  deleted: KeyProvider;
}

export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX_LENGTH)
  currentPassword: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  newPassword: string;
}

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-script' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name: string;

  @ApiPropertyOptional({
    enum: TOKEN_SCOPES,
    enumName: 'TokenScope',
    isArray: true,
    example: ['models'],
    description:
      'What the token may do; omit for all of them. models: model calls (/v1, /api/llm, /api/models); ' +
      'threads:read: read threads, messages and usage; threads:write: create, rename and delete threads, send and cancel messages. ' +
      'No token can manage tokens, provider keys or the password, nor use admin routes.',
  })
  @IsOptionalNonNull()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn(TOKEN_SCOPES, { each: true })
  scopes?: TokenScope[];

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 365,
    description: "Days until the token expires; omit for the server's default (API_TOKEN_DEFAULT_TTL_DAYS, 90 unless configured). Tokens always expire.",
  })
  @IsOptionalNonNull()
  @IsInt()
  @Min(1)
  @Max(365)
  expiresInDays?: number;
}

export class TokenDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'ci-script' })
  name: string;
  @ApiProperty({ example: 'pk_Ab12Cd34' })
  prefix: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
  @ApiProperty({ enum: TOKEN_SCOPES, enumName: 'TokenScope', isArray: true, example: ['models', 'threads:read'] })
  scopes: TokenScope[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastUsedAt: Date | null;
  /** When the token stops working; null only for tokens made before tokens expired by default. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expiresAt: Date | null;
}

export class CreatedTokenDto extends TokenDto {
  /** The token itself, shown only in this response. */
  @ApiProperty({ example: 'pk_Ab12Cd34...' })
  token: string;
}

export class TokenListDto {
  @ApiProperty({ type: [TokenDto] })
  tokens: TokenDto[];
}

export class RevokedTokenDto {
  @ApiProperty({ format: 'uuid' })
  revoked: string;
}
