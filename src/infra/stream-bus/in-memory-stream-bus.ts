import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { EventEmitter, on } from 'node:events';
import { StreamBus, StreamEvent } from './stream-bus';

interface Stream {
  events: StreamEvent[];
  ended: boolean;
  emitter: EventEmitter;
  expiry?: NodeJS.Timeout;
}

/** Finished streams stay readable this long, for clients that reconnect late. */
export const KEEP_FINISHED_MS = 5 * 60_000;

/** The single-process stream bus: events kept in memory, readers woken by an emitter. */
@Injectable()
export class InMemoryStreamBus extends StreamBus implements OnModuleDestroy {
  private readonly streams = new Map<string, Stream>();

  private stream(id: string): Stream {
    let stream = this.streams.get(id);
    if (!stream) {
      stream = { events: [], ended: false, emitter: new EventEmitter() };
      stream.emitter.setMaxListeners(0);
      this.streams.set(id, stream);
    }
    return stream;
  }

  has(streamId: string): boolean {
    return this.streams.has(streamId);
  }

  publish(streamId: string, event: StreamEvent): void {
    const stream = this.stream(streamId);
    stream.events.push(event);
    stream.emitter.emit('event');
  }

  async end(streamId: string): Promise<void> {
    const stream = this.stream(streamId);
    stream.ended = true;
    stream.emitter.emit('event');
    clearTimeout(stream.expiry);
    stream.expiry = setTimeout(() => this.streams.delete(streamId), KEEP_FINISHED_MS).unref();
  }

  async abandon(streamId: string, last: Array<Omit<StreamEvent, 'id'>>): Promise<{ events: StreamEvent[]; ended: boolean }> {
    const stream = this.stream(streamId);
    const events = [...stream.events];
    if (stream.ended) return { events, ended: true };
    const lastId = events[events.length - 1]?.id ?? '0';
    last.forEach((event, i) => this.publish(streamId, { ...event, id: `${lastId}.${i + 1}` }));
    await this.end(streamId);
    return { events, ended: false };
  }

  async exists(streamId: string): Promise<boolean> {
    return this.streams.has(streamId);
  }

  async *read(streamId: string, signal: AbortSignal): AsyncIterable<StreamEvent> {
    const stream = this.stream(streamId);
    const wakeups = on(stream.emitter, 'event', { signal });
    let next = 0;
    try {
      for (;;) {
        while (next < stream.events.length) yield stream.events[next++];
        if (stream.ended) return;
        await wakeups.next();
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      await wakeups.return?.();
    }
  }

  onModuleDestroy(): void {
    for (const stream of this.streams.values()) clearTimeout(stream.expiry);
  }
}
