import { ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import type { Request, Response } from 'express';
import passport from 'passport';
import type { AuthenticatedRequest, AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { accessDenial, routePolicy } from './access-policy';
import { credentialOf } from './auth.cookies';
import { API_TOKEN_PREFIX } from './token.service';
import { JWT_STRATEGY, JwtStrategy } from './strategies/jwt.strategy';
import { PERSONAL_TOKEN_STRATEGY, PersonalTokenStrategy } from './strategies/personal-token.strategy';

export const unauthorized = () => new AppException(ErrorCode.UNAUTHORIZED, 'Authentication required', HttpStatus.UNAUTHORIZED);

/**
 * Global guard, the one place that decides who the caller is (passport strategies: session
 * JWT in the cookie or as a bearer token, or a personal pk_ token) and what the credential
 * may do on the route (@Roles, and for personal tokens @Scopes / @SessionOnly; see
 * accessDenial). Every route needs a caller unless @Public(); public routes do not
 * authenticate at all unless they ask to identify the caller.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard([JWT_STRATEGY, PERSONAL_TOKEN_STRATEGY]) {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtStrategy,
    private readonly personalToken: PersonalTokenStrategy,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const policy = routePolicy(this.reflector, [context.getHandler(), context.getClass()]);
    if (policy.isPublic && !policy.identifyCaller) return true;

    const req = this.getRequest(context) as AuthenticatedRequest;
    const user = await this.identify(context, req, context.switchToHttp().getResponse<Response>());
    if (user) req.user = user;
    if (policy.isPublic) return true;
    if (!user) throw unauthorized();

    const denial = accessDenial(user, policy);
    if (denial) throw new AppException(ErrorCode.FORBIDDEN, denial.message, HttpStatus.FORBIDDEN, denial.details);
    return true;
  }

  /** Strategy failures are "no caller" (the route decides); strategy errors (e.g. the database is down) propagate. */
  override handleRequest<TUser = AuthUser | false>(err: unknown, user: unknown, _info?: unknown, _context?: ExecutionContext, _status?: unknown): TUser {
    if (err) throw err;
    return (user || false) as TUser;
  }

  /**
   * Runs the one strategy the credential's shape calls for (a `pk_` token, else a session
   * JWT): the other could only fail, at a cost on every request. It is this application's
   * instance rather than passport's global registry by name (the base class's way): with
   * several applications in one process (tests) the last one built would otherwise serve
   * them all. Object.create gives each request its own success/fail callbacks, as passport
   * does for strategies it looks up by name.
   */
  private identify(context: ExecutionContext, req: Request, res: Response): Promise<AuthUser | false> {
    const strategy = credentialOf(req)?.startsWith(API_TOKEN_PREFIX) ? (Object.create(this.personalToken) as PersonalTokenStrategy) : (Object.create(this.jwt) as JwtStrategy);
    return new Promise((resolve, reject) => {
      const middleware = passport.authenticate([strategy] as unknown as string[], { session: false }, (err: unknown, user: unknown, info: unknown, status: unknown) => {
        try {
          resolve(this.handleRequest<AuthUser | false>(err, user, info, context, status));
        } catch (error) {
          reject(error);
        }
      }) as (req: Request, res: Response, next: (err?: unknown) => void) => void;
      middleware(req, res, (err?: unknown) => (err ? reject(err) : resolve(false)));
    });
  }
}
