import { HttpStatus, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AppConfig } from '../../config/app.config';
import type { AuthUser } from '../decorators/current-user.decorator';
import { AppException } from '../errors/app.exception';
import { ErrorCode } from '../errors/error-codes';

/** What a refused request is told to wait: a slot frees as soon as another response closes. */
export const CONCURRENCY_RETRY_AFTER_SECONDS = 1;

export interface ConcurrencyCap {
  key: string;
  limit: number;
  /** Named in the 429 answer, e.g. `streams per user`. */
  label: string;
}

/**
 * Counters of things in progress (open SSE streams, provider calls), per process. A request
 * takes a slot of every cap that applies, or none; its slots go back when its response
 * closes, whether it finished or the client went away.
 */
export class ConcurrencyCounter {
  private readonly counts = new Map<string, number>();

  /** Takes one slot of each cap and returns the function that gives them back, or returns the first full cap. */
  tryAcquire(caps: ConcurrencyCap[]): { release: () => void } | { full: ConcurrencyCap } {
    const full = caps.find((cap) => (this.counts.get(cap.key) ?? 0) >= cap.limit);
    if (full) return { full };
    for (const cap of caps) this.counts.set(cap.key, (this.counts.get(cap.key) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        for (const cap of caps) {
          const left = (this.counts.get(cap.key) ?? 1) - 1;
          if (left > 0) this.counts.set(cap.key, left);
          else this.counts.delete(cap.key);
        }
      },
    };
  }

  inUse(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

/**
 * Caps on work one user can make the server hold: open SSE streams per user, and /v1 +
 * /api/llm calls in progress per user and per personal token (counted per process).
 * Controllers call `holdStream` or `holdCall` first thing; past a cap the request gets
 * 429 RATE_LIMITED with Retry-After.
 */
@Injectable()
export class ConcurrencyLimiter {
  readonly counter = new ConcurrencyCounter();

  constructor(private readonly config: AppConfig) {}

  streamCaps(user: AuthUser): ConcurrencyCap[] {
    return [{ key: `sse:user:${user.id}`, limit: this.config.MAX_SSE_STREAMS_PER_USER, label: 'open streams per user' }];
  }

  callCaps(user: AuthUser): ConcurrencyCap[] {
    return [
      { key: `calls:user:${user.id}`, limit: this.config.MAX_CONCURRENT_CALLS_PER_USER, label: 'calls in progress per user' },
      ...(user.tokenId ? [{ key: `calls:token:${user.tokenId}`, limit: this.config.MAX_CONCURRENT_CALLS_PER_TOKEN, label: 'calls in progress per API token' }] : []),
    ];
  }

  /** An SSE stream (chat answer, model load progress). */
  holdStream(user: AuthUser, res: Response): void {
    this.hold(res, this.streamCaps(user));
  }

  /** A /v1 or /api/llm call; `stream: true` also counts it as an open stream. */
  holdCall(user: AuthUser, res: Response, options: { stream?: boolean } = {}): void {
    this.hold(res, [...this.callCaps(user), ...(options.stream ? this.streamCaps(user) : [])]);
  }

  /** Takes the slots until `res` closes, or answers 429. */
  hold(res: Response, caps: ConcurrencyCap[]): void {
    const taken = this.counter.tryAcquire(caps);
    if ('full' in taken) {
      res.setHeader('Retry-After', CONCURRENCY_RETRY_AFTER_SECONDS);
      throw new AppException(
        ErrorCode.RATE_LIMITED,
        `Too many ${taken.full.label} (limit ${taken.full.limit}); retry when one has finished`,
        HttpStatus.TOO_MANY_REQUESTS,
        { limit: taken.full.limit, retryAfterSeconds: CONCURRENCY_RETRY_AFTER_SECONDS },
      );
    }
    // A response that is already gone will never emit 'close' again.
    if (res.destroyed) return taken.release();
    res.once('close', taken.release);
  }
}
