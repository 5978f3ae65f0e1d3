import { Injectable, MessageEvent } from '@nestjs/common';
import type { Response } from 'express';
import { Observable } from 'rxjs';
import { Metrics } from '../../infra/metrics/metrics';
import { HEARTBEAT_MS, SseWriter } from './sse';

/** One SSE event as the application produces it; `id` is what a client sends back as Last-Event-ID. */
export interface SseEvent {
  id?: string;
  event: string;
  data: unknown;
}

export interface SseStreamOptions {
  /** The event after which the stream ends (e.g. `close`). */
  last?: string;
  /** What to send when the source fails mid-stream (the headers are out; this is the client's last event). */
  onError?: (error: unknown) => SseEvent;
}

const DEFAULT_ERROR: SseEvent = { event: 'error', data: { code: 'SERVICE_UNAVAILABLE', message: 'The stream was interrupted; reconnect with Last-Event-ID' } };

/**
 * The one place SSE streams are made: events from an async source, comment heartbeats so
 * proxies keep idle connections, an error event instead of a cut when the source fails,
 * the end after the last event, and the open-connection gauge. GET streams are `@Sse`
 * handlers returning `observe(...)`; the POST send (which answers JSON or SSE) writes the
 * same events through `pipe(...)`.
 */
@Injectable()
export class SseStreams {
  /** Open streams, each able to send a last event and end (shutdown). */
  private readonly open = new Set<(last: SseEvent) => void>();

  constructor(private readonly metrics: Metrics) {}

  /** Sends `last` to every open stream and ends it (shutdown, after running answers got theirs). */
  closeAll(last: SseEvent): void {
    for (const close of [...this.open]) close(last);
  }

  observe(source: AsyncIterable<SseEvent>, options: SseStreamOptions = {}): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      const closed = this.metrics.sseOpened();
      const heartbeat = setInterval(() => subscriber.next({ comment: 'heartbeat' }), HEARTBEAT_MS);
      const iterator = source[Symbol.asyncIterator]();
      let stopped = false;
      const closeWith = (last: SseEvent) => {
        if (stopped) return;
        stopped = true;
        subscriber.next({ type: last.event, data: last.data as object });
        subscriber.complete();
      };
      this.open.add(closeWith);
      void (async () => {
        try {
          while (!stopped) {
            const next = await iterator.next();
            if (next.done || stopped) break;
            const e = next.value;
            subscriber.next({ ...(e.id !== undefined ? { id: e.id } : {}), type: e.event, data: e.data as object });
            if (e.event === options.last) break;
          }
        } catch (error) {
          if (!stopped) {
            const e = options.onError?.(error) ?? DEFAULT_ERROR;
            subscriber.next({ type: e.event, data: e.data as object });
          }
        }
        subscriber.complete();
      })();
      return () => {
        stopped = true;
        this.open.delete(closeWith);
        clearInterval(heartbeat);
        closed();
        // The source stops through the request's abort signal; return() only ends a finished one.
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      };
    });
  }

  /** Writes a source to a response as SSE (the POST send's streamed answer). */
  async pipe(res: Response, source: AsyncIterable<SseEvent>, options: SseStreamOptions = {}): Promise<void> {
    const sse = new SseWriter(res, { heartbeat: false });
    await new Promise<void>((resolve) => {
      const subscription = this.observe(source, options).subscribe({
        next: (m) => (m.comment !== undefined ? sse.comment(m.comment) : sse.send(m.type ?? 'message', m.data, m.id)),
        complete: () => {
          sse.end();
          resolve();
        },
      });
      res.on('close', () => {
        subscription.unsubscribe();
        resolve();
      });
    });
  }
}
