import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../infra/redis/redis.module';

/**
 * Progressive sign-in delays per (client IP, username): after `freeFailures` failed
 * attempts, the next one must wait `baseMs`, doubling per further failure up to `maxMs`.
 * Nothing is ever locked: the state belongs to one address, so an attacker elsewhere slows
 * only themselves, and the account's owner signing in from another address is not affected.
 */
export interface LoginDelayPolicy {
  freeFailures: number;
  baseMs: number;
  maxMs: number;
  /** Failures are forgotten this long after the last one. */
  forgetMs: number;
}

export interface FailureRecord {
  failures: number;
  /** Epoch milliseconds of the last failure. */
  lastFailureAt: number;
}

/** How long after the last of `failures` failures the next attempt must wait. */
export function delayAfter(failures: number, policy: LoginDelayPolicy): number {
  const over = failures - policy.freeFailures;
  if (over <= 0 || policy.baseMs <= 0) return 0;
  // 2^30 already exceeds any allowed maximum; the exponent is capped so it never overflows.
  return Math.min(policy.baseMs * 2 ** Math.min(over - 1, 30), policy.maxMs);
}

/** Milliseconds still to wait before an attempt is answered (0: go ahead). */
export function remainingDelay(record: FailureRecord | null, now: number, policy: LoginDelayPolicy): number {
  if (!record) return 0;
  return Math.max(0, record.lastFailureAt + delayAfter(record.failures, policy) - now);
}

/** Where the failure counts live: per process, or in Redis shared by every instance. */
export interface LoginFailureStore {
  get(key: string): Promise<FailureRecord | null>;
  /** Counts one more failure at `now`; the record expires `ttlMs` later. */
  recordFailure(key: string, now: number, ttlMs: number): Promise<FailureRecord>;
  clear(key: string): Promise<void>;
}

/** Bounded per-process store (least recently used records go first when full). */
export class MemoryLoginFailureStore implements LoginFailureStore {
  private readonly records: LRUCache<string, FailureRecord>;

  constructor(max = 100_000, now: () => number = Date.now) {
    this.records = new LRUCache({ max, perf: { now }, ttlResolution: 0 });
  }

  async get(key: string): Promise<FailureRecord | null> {
    return this.records.get(key) ?? null;
  }

  async recordFailure(key: string, now: number, ttlMs: number): Promise<FailureRecord> {
    const record = { failures: (this.records.get(key)?.failures ?? 0) + 1, lastFailureAt: now };
    this.records.set(key, record, { ttl: ttlMs });
    return record;
  }

  async clear(key: string): Promise<void> {
    this.records.delete(key);
  }
}

/** One Redis hash per (IP, username): `n` failures, `t` last failure; expires with the record. */
export class RedisLoginFailureStore implements LoginFailureStore {
  constructor(private readonly redis: NonNullable<RedisClient>) {}

  async get(key: string): Promise<FailureRecord | null> {
    const [n, t] = await this.redis.hmget(key, 'n', 't');
    return n && t ? { failures: Number(n), lastFailureAt: Number(t) } : null;
  }

  async recordFailure(key: string, now: number, ttlMs: number): Promise<FailureRecord> {
    const results = await this.redis.multi().hincrby(key, 'n', 1).hset(key, 't', now).pexpire(key, ttlMs).exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction aborted');
    return { failures: Number(results[0][1]), lastFailureAt: now };
  }

  async clear(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

/** After a failure, Redis is tried again only after this pause. */
const RETRY_PRIMARY_AFTER_MS = 1000;

/** The shared store while it answers, the per-process one while it fails (as the rate-limit counters do). */
export class FailoverLoginFailureStore implements LoginFailureStore {
  private readonly logger = new Logger('LoginDelay');
  private failing = false;
  private retryPrimaryAt = 0;

  constructor(
    private readonly primary: LoginFailureStore,
    private readonly fallback: LoginFailureStore = new MemoryLoginFailureStore(),
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string) {
    return this.run((store) => store.get(key));
  }

  recordFailure(key: string, now: number, ttlMs: number) {
    return this.run((store) => store.recordFailure(key, now, ttlMs));
  }

  clear(key: string) {
    return this.run((store) => store.clear(key));
  }

  private async run<T>(op: (store: LoginFailureStore) => Promise<T>): Promise<T> {
    if (this.now() >= this.retryPrimaryAt) {
      try {
        const result = await op(this.primary);
        if (this.failing) this.logger.log('Shared sign-in failure counts are back');
        this.failing = false;
        return result;
      } catch (error) {
        if (!this.failing) this.logger.warn(`Shared sign-in failure counts failed (${(error as Error).message}); counting per process meanwhile`);
        this.failing = true;
        this.retryPrimaryAt = this.now() + RETRY_PRIMARY_AFTER_MS;
      }
    }
    return op(this.fallback);
  }
}

/**
 * The sign-in throttle the auth service asks: how long must this (IP, username) still
 * wait, count a failure, forget them after a success. Keys are hashed, so neither
 * addresses nor usernames are stored in the clear, and key size is bounded.
 */
export class LoginThrottle {
  constructor(
    private readonly store: LoginFailureStore,
    readonly policy: LoginDelayPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  static keyOf(ip: string, username: string): string {
    return `parley:login-failures:${createHash('sha256').update(`${ip}\n${username}`).digest('base64url')}`;
  }

  /** Whole seconds still to wait before this attempt may be answered (0: go ahead). */
  async retryAfterSeconds(ip: string, username: string): Promise<number> {
    const record = await this.store.get(LoginThrottle.keyOf(ip, username));
    return Math.ceil(remainingDelay(record, this.now(), this.policy) / 1000);
  }

  /** Counts a failure; returns the failures so far and the seconds the next attempt must wait. */
  async recordFailure(ip: string, username: string): Promise<{ failures: number; nextDelaySeconds: number }> {
    const ttl = Math.max(this.policy.forgetMs, this.policy.maxMs);
    const record = await this.store.recordFailure(LoginThrottle.keyOf(ip, username), this.now(), ttl);
    return { failures: record.failures, nextDelaySeconds: Math.ceil(delayAfter(record.failures, this.policy) / 1000) };
  }

  clear(ip: string, username: string): Promise<void> {
    return this.store.clear(LoginThrottle.keyOf(ip, username));
  }
}
