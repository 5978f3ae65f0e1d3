import { CanActivate, ExecutionContext } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { AuthenticatedRequest, AuthUser } from '../decorators/current-user.decorator';
import { isUnsafeText } from './unsafe-text';

/**
 * With interceptors in play, Nest sends an `@Sse` route's 200 headers one macrotask after
 * the handler starts: a 404 an async handler finds after a database round trip would reach
 * the client as an SSE `error` event under a 200. The checks that can refuse a stream
 * (ownership, existence) therefore run in a guard like this one, before any header is out.
 * Malformed parameters (an id that is not a UUID, text no field may carry) are left to the
 * validation pipe's 400: they never reach the database from here.
 */
export abstract class SseAccessGuard implements CanActivate {
  protected abstract check(user: AuthUser, params: Record<string, string>): Promise<void>;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const params = req.params as Record<string, string>;
    const ids = Object.entries(params).filter(([name]) => name === 'id' || name.endsWith('Id') && name !== 'modelId');
    const wellFormed = ids.every(([, value]) => isUUID(value)) && !Object.values(params).some((value) => isUnsafeText(value));
    if (req.user && wellFormed) await this.check(req.user, params);
    return true;
  }
}
