import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsIn, IsString, IsUUID, MaxLength, MinLength } from 'class-validator';
import type { Role } from '../../common/decorators/current-user.decorator';
import { IsOptionalNonNull } from '../../common/http/optional';
import { PageQueryDto } from '../../common/http/page-query.dto';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/auth.dto';

const ROLES: Role[] = ['user', 'admin'];

export class ListUsersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Part of a username' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(254)
  q?: string;
}

export class AuditQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'auth.login_failed' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(100)
  action?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptionalNonNull()
  @IsUUID()
  actorId?: string;
}

export class CreateUserDto {
  @ApiProperty({ example: 'new.user@example.com' })
  @IsEmail({}, { message: 'username must be an email address' })
  @MaxLength(254)
  username: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(100)
  displayName?: string;

  @ApiPropertyOptional({ enum: ROLES, description: 'Default: user' })
  @IsOptionalNonNull()
  @IsIn(ROLES)
  role?: Role;
}

export class UpdateUserDto {
  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(100)
  displayName?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptionalNonNull()
  @IsIn(ROLES)
  role?: Role;

  /** Disabling signs the user out everywhere and revokes their personal tokens. */
  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsBoolean()
  disabled?: boolean;

  /** A password reset signs the user out everywhere and revokes their personal tokens. */
  @ApiPropertyOptional({ minLength: PASSWORD_MIN_LENGTH })
  @IsOptionalNonNull()
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password?: string;
}

export class AdminUserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty()
  username: string;
  @ApiProperty({ type: String, nullable: true })
  displayName: string | null;
  @ApiProperty({ enum: ROLES })
  role: Role;
  @ApiProperty()
  disabled: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lockedUntil: Date | null;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
  @ApiProperty({ format: 'date-time' })
  updatedAt: Date;
}

export class AdminUserResultDto {
  @ApiProperty({ type: AdminUserDto })
  user: AdminUserDto;
}

export class AdminUserListDto {
  @ApiProperty({ type: [AdminUserDto] })
  users: AdminUserDto[];
}

export class DeletedUserDto {
  @ApiProperty({ format: 'uuid' })
  deletedUser: string;
}

export class AuditEntryDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'auth.login' })
  action: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  actorId: string | null;
  @ApiProperty({ type: String, nullable: true })
  actorUsername: string | null;
  @ApiProperty({ type: String, nullable: true })
  target: string | null;
  @ApiProperty({ type: String, nullable: true })
  ip: string | null;
  @ApiProperty({ type: String, nullable: true })
  requestId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true })
  metadata: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
}

export class AuditListDto {
  @ApiProperty({ type: [AuditEntryDto] })
  entries: AuditEntryDto[];
}
