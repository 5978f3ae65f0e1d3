import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { EventEmitter, on } from 'node:events';
import { BusEvent, SequencedEvent, StreamBus } from './stream-bus';

interface Stream {
  events: SequencedEvent[];
  ended: boolean;
  emitter: EventEmitter;
  expiry?: NodeJS.Timeout;
}

/** Finished streams stay readable this long, for clients that reconnect late. */
const KEEP_FINISHED_MS = 5 * 60_000;

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

  async publish(streamId: string, event: BusEvent): Promise<number> {
    const stream = this.stream(streamId);
    const sequenced = { ...event, id: stream.events.length + 1 };
    stream.events.push(sequenced);
    stream.emitter.emit('event');
    return sequenced.id;
  }

  async end(streamId: string): Promise<void> {
    const stream = this.stream(streamId);
    stream.ended = true;
    stream.emitter.emit('event');
    stream.expiry = setTimeout(() => this.streams.delete(streamId), KEEP_FINISHED_MS).unref();
  }

  async exists(streamId: string): Promise<boolean> {
    return this.streams.has(streamId);
  }

  async *read(streamId: string, afterId: number, signal: AbortSignal): AsyncIterable<SequencedEvent> {
    const stream = this.stream(streamId);
    const wakeups = on(stream.emitter, 'event', { signal });
    let next = afterId;
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
