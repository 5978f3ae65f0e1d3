import { Body, Controller, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/public.decorator';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorator';
import { RateLimit } from '../../common/throttling/rate-limits';
import { AppConfig } from '../../config/app.config';
import { AuthResultDto, LoginDto, MessageDto, RefreshDto, RegisterDto, toUserDto } from './auth.dto';
import { clearSessionCookies, credentialOf, refreshCookieOf, setSessionCookies } from './auth.cookies';
import { AuthService } from './auth.service';

@ApiTags('auth')
@Public()
@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly config: AppConfig,
  ) {}

  @Post('register')
  @RateLimit('register')
  @ApiOperation({ summary: 'Create an account (when ALLOW_REGISTRATION) and sign in' })
  @ApiEnvelope(AuthResultDto, { status: HttpStatus.CREATED })
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.FORBIDDEN, HttpStatus.CONFLICT, HttpStatus.TOO_MANY_REQUESTS)
  async register(@Body() dto: RegisterDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AuthResultDto> {
    const { user, session } = await this.auth.register(dto, req);
    setSessionCookies(res, session, this.config);
    return { user: toUserDto(user), expiresIn: session.expiresIn };
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  @RateLimit('login')
  @ApiOperation({ summary: 'Sign in: sets the access_token and refresh_token httpOnly cookies' })
  @ApiEnvelope(AuthResultDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.TOO_MANY_REQUESTS)
  async login(@Body() dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AuthResultDto> {
    const { user, session } = await this.auth.login(dto, req);
    setSessionCookies(res, session, this.config);
    return { user: toUserDto(user), expiresIn: session.expiresIn };
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @RateLimit('refresh')
  @ApiOperation({ summary: 'Rotate the refresh token and issue a new access token' })
  @ApiEnvelope(AuthResultDto)
  @ApiErrors(HttpStatus.BAD_REQUEST, HttpStatus.UNAUTHORIZED, HttpStatus.TOO_MANY_REQUESTS)
  async refresh(@Body() dto: RefreshDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<AuthResultDto> {
    const { user, session } = await this.auth.refresh(dto.refreshToken ?? refreshCookieOf(req), req);
    setSessionCookies(res, session, this.config);
    return { user: toUserDto(user), expiresIn: session.expiresIn };
  }

  @Post('logout')
  @HttpCode(HttpStatus.OK)
  @SkipThrottle()
  @ApiOperation({ summary: 'End the session and clear its cookies' })
  @ApiEnvelope(MessageDto)
  @ApiErrors(HttpStatus.BAD_REQUEST)
  async logout(@Body() dto: RefreshDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<MessageDto> {
    await this.auth.logout(credentialOf(req), dto.refreshToken ?? refreshCookieOf(req), req);
    clearSessionCookies(res, this.config);
    return { message: 'Successfully logged out' };
  }
}
