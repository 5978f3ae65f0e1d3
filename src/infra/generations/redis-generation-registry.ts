import { Logger, OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ClaimResult, GenerationRecord, GenerationRegistry } from './generation-registry';
import { InMemoryGenerationRegistry } from './in-memory-generation-registry';

/** Redis server time in ms, so pods with skewed clocks agree on heartbeat deadlines. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: busy, user set, thread set, record, heartbeats. ARGV: message id, max per user, record JSON, heartbeat ttl. */
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'busy' end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 'user-limit' end
${NOW}
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[4]), ARGV[1])
return 'claimed'`;

/** KEYS: busy, user set, thread set, record, heartbeats. ARGV: message id. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1`;

/** KEYS: heartbeats. ARGV: ttl, message ids… Renews the answers still registered; returns the others (finalised elsewhere). */
const HEARTBEAT = `
${NOW}
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
  else table.insert(lost, ARGV[i]) end
end
return lost`;

/**
 * KEYS: heartbeats. ARGV: record key prefix, lease ms, max. Hands out answers past their
 * deadline, pushing each deadline one lease further so no other pod takes it meanwhile.
 */
const CLAIM_ORPHANS = `
${NOW}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local record = redis.call('GET', ARGV[1] .. id)
  if record then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    table.insert(out, record)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out`;

/** Orphans handled per sweep. */
const ORPHANS_PER_SWEEP = 20;

/**
 * Running answers shared by every pod. Each answer has a deadline in a sorted set that its
 * pod pushes forward every heartbeat; an answer past its deadline belongs to a dead pod,
 * and a surviving pod claims it (see `claimOrphans`) to store it as interrupted.
 * The claim and release scripts keep the busy flag, the per-user set and the record in step.
 */
export class RedisGenerationRegistry extends GenerationRegistry implements OnModuleDestroy {
  private readonly logger = new Logger('Generations');
  /** Answers this pod runs, whose heartbeat it renews. */
  private readonly local = new Set<string>();
  private readonly heartbeat: NodeJS.Timeout;
  private heartbeatFailing = false;
  /** While Redis is unreachable, answers are registered per pod (the limits hold per pod): degraded, not down. */
  private readonly fallback = new InMemoryGenerationRegistry();
  private fallbackLogged = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly heartbeatMs: number,
    private readonly orphanAfterMs: number,
  ) {
    super();
    this.heartbeat = setInterval(() => void this.renew(), heartbeatMs).unref();
  }

  private keys(r: Pick<GenerationRecord, 'messageId' | 'userId' | 'threadId' | 'modelId'>): string[] {
    const p = this.prefix;
    return [`${p}gen:busy:${r.threadId}:${r.modelId}`, `${p}gen:user:${r.userId}`, `${p}gen:thread:${r.threadId}`, `${p}gen:${r.messageId}`, `${p}gen:heartbeats`];
  }

  async claim(record: GenerationRecord, maxPerUser: number): Promise<ClaimResult> {
    let result: ClaimResult;
    try {
      result = (await this.redis.eval(CLAIM, 5, ...this.keys(record), record.messageId, maxPerUser, JSON.stringify(record), this.orphanAfterMs)) as ClaimResult;
    } catch (error) {
      if (!this.fallbackLogged) this.logger.warn(`Redis unreachable (${(error as Error).message}): running answers are tracked per pod until it is back`);
      this.fallbackLogged = true;
      return this.fallback.claim(record, maxPerUser);
    }
    this.fallbackLogged = false;
    if (result === 'claimed') this.local.add(record.messageId);
    return result;
  }

  async release(record: GenerationRecord): Promise<void> {
    if (await this.fallback.find(record.messageId)) return this.fallback.release(record);
    this.local.delete(record.messageId);
    await this.redis.eval(RELEASE, 5, ...this.keys(record), record.messageId);
  }

  async find(messageId: string): Promise<GenerationRecord | undefined> {
    const local = await this.fallback.find(messageId);
    if (local) return local;
    // Redis away: only this pod's answers are known (the stored row answers for the others).
    const json = await this.redis.get(`${this.prefix}gen:${messageId}`).catch(() => null);
    return json ? (JSON.parse(json) as GenerationRecord) : undefined;
  }

  async inThread(threadId: string): Promise<string[]> {
    const local = await this.fallback.inThread(threadId);
    const shared = await this.redis.smembers(`${this.prefix}gen:thread:${threadId}`).catch(() => [] as string[]);
    return [...new Set([...local, ...shared])];
  }

  async claimOrphans(): Promise<GenerationRecord[]> {
    const records = (await this.redis.eval(CLAIM_ORPHANS, 1, `${this.prefix}gen:heartbeats`, `${this.prefix}gen:`, this.orphanAfterMs, ORPHANS_PER_SWEEP)) as string[];
    return records.map((json) => JSON.parse(json) as GenerationRecord).filter((r) => !this.local.has(r.messageId));
  }

  /** Pushes the deadline of every answer this pod runs. */
  private async renew(): Promise<void> {
    if (!this.local.size) return;
    try {
      const lost = (await this.redis.eval(HEARTBEAT, 1, `${this.prefix}gen:heartbeats`, this.orphanAfterMs, ...this.local)) as string[];
      for (const messageId of lost) {
        this.local.delete(messageId);
        this.logger.warn({ messageId }, 'Another server finalised this answer (this one was taken for dead); stopping it');
        for (const handler of this.lostHandlers) handler(messageId);
      }
      if (this.heartbeatFailing) this.logger.log('Heartbeats renewed again');
      this.heartbeatFailing = false;
    } catch (error) {
      if (!this.heartbeatFailing) this.logger.warn(`Renewing heartbeats failed: ${(error as Error).message}`);
      this.heartbeatFailing = true;
    }
  }

  /** Stops renewing heartbeats without releasing anything: what a killed pod looks like to the others (tests). */
  stopHeartbeats(): void {
    clearInterval(this.heartbeat);
    this.local.clear();
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
  }
}
