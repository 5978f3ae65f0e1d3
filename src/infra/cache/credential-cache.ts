import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Broadcast } from '../broadcast/broadcast';
import { Metrics } from '../metrics/metrics';

/** How long a credential is trusted without looking again: the bound on a change another pod missed. */
export const CREDENTIAL_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;
/** Broadcast channel on which a pod tells the others to drop a user's cached credentials. */
const CHANGED = 'credentials-changed';

interface Entry {
  userId: string;
  value: unknown;
}

/**
 * What the hot paths need about credentials (a personal token's row and owner, a signed-in
 * session's user, a user's provider-key rows), kept per process for CREDENTIAL_TTL_MS. Any
 * change to a user's credentials (revoke, logout, refresh-token reuse, password change,
 * disable, role or key change) drops that user's
 * entries on every pod through the broadcast, at once; the TTL only bounds a missed message.
 * Unknown credentials are never cached, so guessing fills nothing.
 */
@Injectable()
export class CredentialCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('CredentialCache');
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_ENTRIES, ttl: CREDENTIAL_TTL_MS });
  private unsubscribe?: () => void;

  constructor(
    private readonly broadcast: Broadcast,
    private readonly metrics: Metrics,
  ) {}

  async onModuleInit(): Promise<void> {
    this.unsubscribe = await this.broadcast.subscribe(CHANGED, (message) => this.drop((message as { userId?: string }).userId ?? ''));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  /** The cached value under `key`, else `load()`'s (cached when found, with its owner). */
  async get<T>(kind: 'token' | 'keys' | 'session', key: string, load: () => Promise<{ userId: string; value: T } | undefined>): Promise<T | undefined> {
    const cacheKey = `${kind}:${key}`;
    const hit = this.entries.get(cacheKey);
    this.metrics.credentialCacheLookups.inc({ kind, result: hit ? 'hit' : 'miss' });
    if (hit) return hit.value as T;
    const loaded = await load();
    if (loaded) this.entries.set(cacheKey, loaded);
    return loaded?.value;
  }

  /** Drops a user's entries here and on every other pod; call after changing their credentials. */
  async forgetUser(userId: string): Promise<void> {
    this.drop(userId);
    await this.broadcast.publish(CHANGED, { userId }).catch((error: Error) => this.logger.warn(`Telling other servers about a credential change failed (their copies expire within ${CREDENTIAL_TTL_MS / 1000} s): ${error.message}`));
  }

  private drop(userId: string): void {
    for (const [key, entry] of this.entries.entries()) if (entry.userId === userId) this.entries.delete(key);
  }
}
