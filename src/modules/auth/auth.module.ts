import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { RateLimitGuard } from '../../common/throttling/rate-limit.guard';
import { ThrottlingModule } from '../../common/throttling/throttling.module';
import { ApiTokensService } from './api-tokens.service';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { CredentialsRepository } from './credentials.repository';
import { DemoUserSeeder } from './demo-user.seeder';
import { PasswordService } from './password.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { PersonalTokenStrategy } from './strategies/personal-token.strategy';
import { TokenService } from './token.service';
import { UsersRepository } from './users.repository';

@Module({
  imports: [JwtModule.register({}), ThrottlingModule],
  controllers: [AuthController],
  providers: [
    UsersRepository,
    CredentialsRepository,
    PasswordService,
    TokenService,
    AuthService,
    ApiTokensService,
    DemoUserSeeder,
    JwtStrategy,
    PersonalTokenStrategy,
    // Order matters: the rate limiter keys by the user the auth guard found.
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [UsersRepository, CredentialsRepository, PasswordService, AuthService, ApiTokensService],
})
export class AuthModule {}
