import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsNotEmpty, IsString, MaxLength, MinLength } from 'class-validator';
import type { Role } from '../../common/decorators/current-user.decorator';
import { IsOptionalNonNull } from '../../common/http/optional';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

export class RegisterDto {
  /** Email address used to sign in. */
  @ApiProperty({ example: 'user@example.com' })
  @IsEmail({}, { message: 'username must be an email address' })
  @MaxLength(254)
  username: string;

  /** At least 10 characters, not equal to the username. */
  @ApiProperty({ example: 'correct horse battery staple', minLength: PASSWORD_MIN_LENGTH })
  @IsString()
  @MinLength(PASSWORD_MIN_LENGTH)
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;

  @ApiPropertyOptional({ example: 'John Doe' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(100)
  displayName?: string;
}

export class LoginDto {
  /** The demo account (created outside production in an empty database) by default. */
  @ApiProperty({ example: 'admin@example.com' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(254)
  username: string;

  @ApiProperty({ example: 'admin123' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}

export class RefreshDto {
  /** For clients without cookies; browsers send the refresh_token cookie instead. */
  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(200)
  refreshToken?: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'user@example.com' })
  username: string;
  @ApiProperty({ type: String, nullable: true, example: 'John Doe' })
  displayName: string | null;
  @ApiProperty({ enum: ['user', 'admin'] })
  role: Role;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
}

export class AuthResultDto {
  @ApiProperty({ type: UserDto })
  user: UserDto;
  /** Seconds until the access token expires; refresh before then. */
  @ApiProperty({ example: 900 })
  expiresIn: number;
}

export class MessageDto {
  @ApiProperty({ example: 'Successfully logged out' })
  message: string;
}

export function toUserDto(user: { id: string; username: string; displayName: string | null; role: Role; createdAt: Date }): UserDto {
  return { id: user.id, username: user.username, displayName: user.displayName, role: user.role, createdAt: user.createdAt };
}
