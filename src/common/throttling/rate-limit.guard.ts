import { ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerRequest } from '@nestjs/throttler';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../decorators/current-user.decorator';
import { AppException } from '../errors/app.exception';
import { ErrorCode } from '../errors/error-codes';

/**
 * @nestjs/throttler keyed by personal token for programs, by user when signed in (the auth
 * guard runs first) and by client IP otherwise, with seed 001's headers: X-RateLimit-Limit/Remaining/Reset (epoch
 * seconds)/Window (seconds) on every limited response, Retry-After on 429.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async getTracker(req: AuthenticatedRequest): Promise<string> {
    if (req.user?.tokenId) return `token:${req.user.tokenId}`;
    return req.user ? `user:${req.user.id}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, generateKey } = props;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const key = generateKey(context, await this.getTracker(req), throttler.name ?? 'default');
    // With Redis the storage falls back to per-process counters by itself (FailoverThrottlerStorage).
    const hit = await this.storageService.increment(key, ttl, limit, blockDuration, throttler.name ?? 'default');

    const resetSeconds = hit.isBlocked ? hit.timeToBlockExpire : hit.timeToExpire;
    res.setHeader('X-RateLimit-Limit', limit);
    res.setHeader('X-RateLimit-Remaining', Math.max(0, limit - hit.totalHits));
    res.setHeader('X-RateLimit-Reset', Math.ceil(Date.now() / 1000) + resetSeconds);
    res.setHeader('X-RateLimit-Window', Math.round(ttl / 1000));
    if (hit.isBlocked) {
      res.setHeader('Retry-After', resetSeconds);
      throw new AppException(ErrorCode.RATE_LIMITED, 'Too many requests, retry later', HttpStatus.TOO_MANY_REQUESTS, {
        retryAfterSeconds: resetSeconds,
      });
    }
    return true;
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http';
  }
}
