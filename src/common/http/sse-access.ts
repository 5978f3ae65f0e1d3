import { CanActivate, ExecutionContext } from '@nestjs/common';
import { isUUID } from 'class-validator';
import type { AuthenticatedRequest, AuthUser } from '../decorators/current-user.decorator';

/**
 * With interceptors in play, Nest sends an `@Sse` route's 200 headers one macrotask after
 * the handler starts: a 404 an async handler finds after a database round trip would reach
 * the client as an SSE `error` event under a 200. The checks that can refuse a stream
 * (ownership, existence) therefore run in a guard like this one, before any header is out.
 * Malformed ids are left to the validation pipe's 400.
 */
export abstract class SseAccessGuard implements CanActivate {
  protected abstract check(user: AuthUser, params: Record<string, string>): Promise<void>;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const params = req.params as Record<string, string>;
    const ids = Object.entries(params).filter(([name]) => name === 'id' || name.endsWith('Id') && name !== 'modelId');
    if (req.user && ids.every(([, value]) => isUUID(value))) await this.check(req.user, params);
    return true;
  }
}
