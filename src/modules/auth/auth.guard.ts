import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '../../common/decorators/public.decorator';
import { AuthenticatedRequest, Role, ROLES } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { credentialOf } from './auth.cookies';
import { AuthService } from './auth.service';

/**
 * Global guard: every route needs a signed-in user (access JWT in the cookie or as a
 * bearer token, or a personal pk_ token) unless marked @Public(); @Roles() narrows it.
 * Public routes still learn who is calling when a valid credential is present.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets);
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const credential = credentialOf(req);
    const user = credential ? await this.auth.authenticate(credential) : null;
    if (user) req.user = user;
    if (isPublic) return true;
    if (!user) throw new AppException(ErrorCode.UNAUTHORIZED, 'Authentication required', HttpStatus.UNAUTHORIZED);

    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles?.length && !roles.includes(user.role)) {
      throw new AppException(ErrorCode.FORBIDDEN, 'You do not have access to this resource', HttpStatus.FORBIDDEN);
    }
    return true;
  }
}
