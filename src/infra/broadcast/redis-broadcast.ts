import { Logger, OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { Broadcast, BroadcastHandler } from './broadcast';

/** How long a subscriber waits for Redis to confirm before going on without the confirmation. */
const SUBSCRIBE_WAIT_MS = 1000;

/**
 * Broadcast over Redis pub/sub: one subscriber connection per process, each channel
 * subscribed while this process has a handler for it.
 */
export class RedisBroadcast extends Broadcast implements OnModuleDestroy {
  private readonly logger = new Logger('Broadcast');
  private readonly channels = new Map<string, Set<BroadcastHandler>>();
  /** Per channel, the SUBSCRIBE that made it live (awaited by every later subscriber too). */
  private readonly subscribed = new Map<string, Promise<unknown>>();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    super();
    subscriber.on('message', (channel: string, payload: string) => this.deliver(channel, payload));
    // Quiet: the shared connection already reports outages; this one resubscribes by itself on reconnect.
    subscriber.on('error', () => undefined);
  }

  private deliver(redisChannel: string, payload: string): void {
    const handlers = this.channels.get(redisChannel.slice(this.prefix.length));
    if (!handlers) return;
    let message: unknown;
    try {
      message = JSON.parse(payload);
    } catch {
      return;
    }
    for (const handler of [...handlers]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error({ err: error, channel: redisChannel }, 'A broadcast handler failed');
      }
    }
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.redis.publish(this.prefix + channel, JSON.stringify(message));
  }

  async subscribe(channel: string, handler: BroadcastHandler): Promise<() => void> {
    let handlers = this.channels.get(channel);
    if (!handlers) {
      this.channels.set(channel, (handlers = new Set()));
      this.subscribed.set(channel, this.subscriber.subscribe(this.prefix + channel));
    }
    handlers.add(handler);
    const unsubscribe = () => {
      handlers.delete(handler);
      if (handlers.size || this.channels.get(channel) !== handlers) return;
      this.channels.delete(channel);
      this.subscribed.delete(channel);
      this.subscriber.unsubscribe(this.prefix + channel).catch(() => undefined);
    };
    // While Redis is away the subscription completes when it is back; the caller does not wait for that.
    const away = sleep(SUBSCRIBE_WAIT_MS, 'away' as const, { ref: false });
    const outcome = await Promise.race([this.subscribed.get(channel)!.then(() => 'subscribed' as const, () => 'failed' as const), away]);
    if (outcome !== 'subscribed') this.logger.warn(`Subscribing to ${channel} is taking long (Redis unreachable?); continuing`);
    return unsubscribe;
  }

  onModuleDestroy(): void {
    this.subscriber.disconnect();
  }
}
