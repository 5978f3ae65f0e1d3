import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryStreamBus, KEEP_FINISHED_MS } from './in-memory-stream-bus';
import { StreamBus, StreamEvent } from './stream-bus';

/** Entries kept per stream (an answer is a few thousand tokens; a runaway one is trimmed at the head). */
const MAX_ENTRIES = 20_000;
/** Entries fetched per XRANGE while a reader catches up. */
const PAGE = 500;
/** How long one XREAD waits before it is issued again with the current set of streams. */
const BLOCK_MS = 10_000;

type Fields = string[];

/**
 * KEYS: the stream. ARGV: ttl ms, then (event, data JSON) pairs. Unless the stream has
 * ended, appends the pairs with ids continuing the last event's and ends it; returns
 * {ended before (0/1), entries before}. One script, so nothing slips in between the read and the end.
 */
const ABANDON = `
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
local last = '0'
for _, entry in ipairs(entries) do
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == 'end' then return {1, entries} end
    if f[i] == 'i' then last = f[i + 1] end
  end
end
for n = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], '*', 'i', last .. '.' .. (n / 2), 'e', ARGV[n], 'd', ARGV[n + 1])
end
redis.call('XADD', KEYS[1], '*', 'end', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {0, entries}`;

function encode(event: StreamEvent): Fields {
  return ['i', event.id, 'e', event.event, 'd', JSON.stringify(event.data)];
}

function decode(fields: Fields): StreamEvent | 'end' {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
  if (map.has('end')) return 'end';
  return { id: map.get('i') ?? '', event: map.get('e') ?? 'message', data: JSON.parse(map.get('d') ?? 'null') as unknown };
}

/** Orders Redis stream entry ids ("ms-seq"). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : Number(am - bm);
}

interface Wait {
  /** Wake when the stream has an entry after this id. */
  after: string;
  wakers: Set<() => void>;
}

/**
 * One blocking connection per process waits for new entries of every stream its readers
 * are at the end of (one XREAD BLOCK over all of them). When a reader starts waiting on a
 * stream the pending XREAD does not cover, CLIENT UNBLOCK makes it start over at once.
 */
class StreamWaiter {
  private readonly waits = new Map<string, Wait>();
  private inFlight?: Map<string, string>;
  private looping = false;
  private closed = false;
  private blockingId?: number;

  constructor(
    private readonly control: Redis,
    private readonly blocking: Redis,
    private readonly logger: Logger,
  ) {}

  /** Resolves once `key` has an entry after `after`, or on abort, or on a Redis error (the reader then looks again). */
  wait(key: string, after: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let wait = this.waits.get(key);
      if (!wait) this.waits.set(key, (wait = { after, wakers: new Set() }));
      else if (compareIds(after, wait.after) < 0) wait.after = after;
      const wake = () => {
        signal.removeEventListener('abort', wake);
        wait.wakers.delete(wake);
        if (!wait.wakers.size && this.waits.get(key) === wait) this.waits.delete(key);
        resolve();
      };
      wait.wakers.add(wake);
      signal.addEventListener('abort', wake, { once: true });
      this.kick(key, wait.after);
    });
  }

  private kick(key: string, after: string): void {
    if (!this.looping) {
      void this.loop();
      return;
    }
    const pending = this.inFlight?.get(key);
    if (pending === undefined || compareIds(after, pending) < 0) void this.unblock(this.inFlight);
  }

  /** Interrupts the pending XREAD; retried briefly when it has not reached Redis yet. */
  private async unblock(inFlight: Map<string, string> | undefined): Promise<void> {
    try {
      this.blockingId ??= Number(await this.blocking.client('ID'));
      for (let attempt = 0; attempt < 20 && this.inFlight === inFlight && !this.closed; attempt++) {
        if (Number(await this.control.client('UNBLOCK', this.blockingId)) === 1) return;
        await sleep(5);
      }
    } catch {
      // Redis is away: the loop's own error handling wakes the readers.
    }
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.waits.size && !this.closed) {
        const keys = [...this.waits.keys()];
        const ids = keys.map((k) => this.waits.get(k)!.after);
        const inFlight = new Map(keys.map((k, i) => [k, ids[i]]));
        this.inFlight = inFlight;
        let result: Array<[string, unknown[]]> | null;
        try {
          result = (await this.blocking.xread('COUNT', 1, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids)) as Array<[string, unknown[]]> | null;
        } catch (error) {
          if (this.closed) return;
          this.logger.warn(`Waiting for stream entries failed: ${(error as Error).message}`);
          // Readers look again (and fail on their own reads while Redis is away).
          for (const key of keys) this.wakeAll(key);
          await sleep(500);
          continue;
        } finally {
          this.inFlight = undefined;
        }
        for (const [key] of result ?? []) this.wakeAll(key);
      }
    } finally {
      this.looping = false;
    }
    if (this.waits.size && !this.closed) void this.loop();
  }

  private wakeAll(key: string): void {
    const wait = this.waits.get(key);
    if (!wait) return;
    this.waits.delete(key);
    for (const wake of [...wait.wakers]) wake();
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.waits.keys()]) this.wakeAll(key);
  }
}

/**
 * The scaled-out stream bus: each answer's events in a Redis stream keyed by its message
 * id (XADD with a length cap, a TTL once ended), readable from any pod. The producing pod
 * also keeps them in memory, so its own readers (the sender, most of the time) never wait
 * on Redis and keep streaming through a Redis outage.
 */
@Injectable()
export class RedisStreamBus extends StreamBus implements OnModuleDestroy {
  private readonly logger = new Logger('StreamBus');
  private readonly local = new InMemoryStreamBus();
  /** Per stream, the tail of its ordered writes to Redis (ioredis keeps one connection's commands in order; this is for `end`). */
  private readonly writes = new Map<string, Promise<unknown>>();
  private readonly failed = new Set<string>();
  private readonly waiter: StreamWaiter;

  constructor(
    private readonly redis: Redis,
    private readonly blocking: Redis,
    private readonly prefix: string,
  ) {
    super();
    this.waiter = new StreamWaiter(redis, blocking, this.logger);
  }

  private key(streamId: string): string {
    return `${this.prefix}stream:${streamId}`;
  }

  private write(streamId: string, run: () => Promise<unknown>): Promise<unknown> {
    const previous = this.writes.get(streamId) ?? Promise.resolve();
    const next = previous.then(run).catch((error: Error) => {
      // Once per stream: its local readers still get every event.
      if (this.failed.has(streamId)) return;
      this.failed.add(streamId);
      this.logger.warn(`Sharing stream ${streamId} through Redis failed: ${error.message}`);
    });
    this.writes.set(streamId, next);
    return next;
  }

  publish(streamId: string, event: StreamEvent): void {
    this.local.publish(streamId, event);
    void this.write(streamId, () => this.redis.xadd(this.key(streamId), 'MAXLEN', '~', MAX_ENTRIES, '*', ...encode(event)));
  }

  async end(streamId: string): Promise<void> {
    await this.local.end(streamId);
    await this.write(streamId, () => this.redis.multi().xadd(this.key(streamId), '*', 'end', '1').pexpire(this.key(streamId), KEEP_FINISHED_MS).exec());
    this.writes.delete(streamId);
    this.failed.delete(streamId);
  }

  async abandon(streamId: string, last: Array<Omit<StreamEvent, 'id'>>): Promise<{ events: StreamEvent[]; ended: boolean }> {
    const pairs = last.flatMap((e) => [e.event, JSON.stringify(e.data)]);
    const [ended, entries] = (await this.redis.eval(ABANDON, 1, this.key(streamId), KEEP_FINISHED_MS, ...pairs)) as [number, Array<[string, Fields]>];
    const events = entries.map(([, fields]) => decode(fields)).filter((e): e is StreamEvent => e !== 'end');
    return { events, ended: ended === 1 };
  }

  async exists(streamId: string): Promise<boolean> {
    return this.local.has(streamId) || (await this.redis.exists(this.key(streamId))) === 1;
  }

  read(streamId: string, signal: AbortSignal): AsyncIterable<StreamEvent> {
    return this.local.has(streamId) ? this.local.read(streamId, signal) : this.readRemote(streamId, signal);
  }

  private async *readRemote(streamId: string, signal: AbortSignal): AsyncIterable<StreamEvent> {
    const key = this.key(streamId);
    let cursor = '0-0';
    while (!signal.aborted) {
      const entries = (await this.redis.xrange(key, `(${cursor}`, '+', 'COUNT', PAGE)) as Array<[string, Fields]>;
      for (const [entryId, fields] of entries) {
        cursor = entryId;
        const event = decode(fields);
        if (event === 'end') return;
        yield event;
      }
      if (entries.length === PAGE) continue;
      await this.waiter.wait(key, cursor, signal);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.waiter.close();
    await Promise.allSettled([...this.writes.values()]);
    this.local.onModuleDestroy();
    this.blocking.disconnect();
  }
}
