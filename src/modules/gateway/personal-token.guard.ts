import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import type { AuthenticatedRequest } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';

/** Programs authenticate with personal API tokens (pk_…), never with a browser session. */
@Injectable()
export class PersonalTokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.switchToHttp().getRequest<AuthenticatedRequest>().user?.via === 'token') return true;
    throw new AppException(ErrorCode.UNAUTHORIZED, 'The /v1 API takes a personal API token: Authorization: Bearer pk_…', HttpStatus.UNAUTHORIZED);
  }
}
