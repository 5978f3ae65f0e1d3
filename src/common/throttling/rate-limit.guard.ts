import { ExecutionContext, HttpStatus, Inject, Injectable, Optional } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerRequest } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { AuthenticatedRequest } from '../decorators/current-user.decorator';
import { IS_PUBLIC } from '../decorators/public.decorator';
import { AppException } from '../errors/app.exception';
import { ErrorCode } from '../errors/error-codes';
import { Metrics } from '../../infra/metrics/metrics';
import { RATE_LIMIT } from './rate-limits';

/** The client's address as Express sees it (TRUST_PROXY decides whether X-Forwarded-For counts). */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket?.remoteAddress ?? 'unknown';
}

/**
 * @nestjs/throttler keyed by personal token for programs, by user when signed in (the auth
 * guard runs first) and by client IP otherwise, with seed 001's headers: X-RateLimit-Limit/Remaining/Reset (epoch
 * seconds)/Window (seconds) on every limited response, Retry-After on 429.
 *
 * Public routes (login, register, refresh…) are always keyed by client IP, whatever
 * credential the request carries: a token of one's own must not buy a fresh bucket of
 * sign-in attempts.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** Counts 429s (parley_rate_limit_rejections_total); absent in a module without MetricsModule. */
  @Optional()
  @Inject(Metrics)
  private readonly metrics?: Metrics;

  protected override async getTracker(req: AuthenticatedRequest): Promise<string> {
    if (req.user?.tokenId) return `token:${req.user.tokenId}`;
    return req.user ? `user:${req.user.id}` : `ip:${clientIp(req)}`;
  }

  private isPublic(context: ExecutionContext): boolean {
    return this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]) === true;
  }

  /** The limit's name as the throttling module resolves it (`login`, `messages.send`…; `default` when unnamed). */
  private limitName(context: ExecutionContext): string {
    return this.reflector.getAllAndOverride<string | undefined>(RATE_LIMIT, [context.getHandler(), context.getClass()]) ?? 'default';
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, generateKey } = props;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const tracker = this.isPublic(context) ? `ip:${clientIp(req)}` : await this.getTracker(req);
    const key = generateKey(context, tracker, throttler.name ?? 'default');
    // With Redis the storage falls back to per-process counters by itself (FailoverThrottlerStorage).
    const hit = await this.storageService.increment(key, ttl, limit, blockDuration, throttler.name ?? 'default');

    const resetSeconds = hit.isBlocked ? hit.timeToBlockExpire : hit.timeToExpire;
    res.setHeader('X-RateLimit-Limit', limit);
    res.setHeader('X-RateLimit-Remaining', Math.max(0, limit - hit.totalHits));
    res.setHeader('X-RateLimit-Reset', Math.ceil(Date.now() / 1000) + resetSeconds);
    res.setHeader('X-RateLimit-Window', Math.round(ttl / 1000));
    if (hit.isBlocked) {
      res.setHeader('Retry-After', resetSeconds);
      this.metrics?.rateLimited(this.limitName(context));
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
