import { Injectable, Logger } from '@nestjs/common';
import { Broadcast, BroadcastHandler } from './broadcast';

/** Broadcast within this process. */
@Injectable()
export class InMemoryBroadcast extends Broadcast {
  private readonly logger = new Logger('Broadcast');
  private readonly channels = new Map<string, Set<BroadcastHandler>>();

  async publish(channel: string, message: unknown): Promise<void> {
    // Delivered after the publisher's turn, as Redis would: a handler never runs inside publish().
    await Promise.resolve();
    for (const handler of [...(this.channels.get(channel) ?? [])]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error({ err: error, channel }, 'A broadcast handler failed');
      }
    }
  }

  async subscribe(channel: string, handler: BroadcastHandler): Promise<() => void> {
    let handlers = this.channels.get(channel);
    if (!handlers) this.channels.set(channel, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (!handlers.size && this.channels.get(channel) === handlers) this.channels.delete(channel);
    };
  }
}
