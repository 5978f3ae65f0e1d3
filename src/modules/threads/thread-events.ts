import { Injectable, Logger } from '@nestjs/common';
import { Broadcast } from '../../infra/broadcast/broadcast';

/** What happens in a thread, for its owner's other tabs and devices. */
export type ThreadEventName = 'message_start' | 'message_complete' | 'message_error' | 'thread_updated';

export interface ThreadEvent {
  event: ThreadEventName;
  data: Record<string, unknown>;
}

const channel = (threadId: string) => `thread:${threadId}`;

/** Announcements a slow client may have waiting before its stream is dropped. */
const MAX_QUEUED = 1000;

/**
 * Live sync across devices: every pod announces answers starting and ending and thread
 * changes on the thread's broadcast channel; each open `/threads/:id/events` stream, on
 * any pod, is a subscriber. Missed announcements are not replayed (the thread and its
 * messages are the source of truth); they only tell a client what to fetch or attach to.
 */
@Injectable()
export class ThreadEvents {
  private readonly logger = new Logger('ThreadEvents');

  constructor(private readonly broadcast: Broadcast) {}

  /** Fire and forget: a failed announcement is logged, never the caller's failure. */
  announce(threadId: string, event: ThreadEventName, data: Record<string, unknown>): void {
    this.broadcast.publish(channel(threadId), { event, data: { threadId, ...data } }).catch((error: Error) => this.logger.warn(`Announcing ${event} failed: ${error.message}`));
  }

  /** Subscribes now (resolving once subscribed), and yields the thread's events until `signal` aborts. */
  async follow(threadId: string, signal: AbortSignal): Promise<AsyncIterable<ThreadEvent>> {
    const queue: ThreadEvent[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = await this.broadcast.subscribe(channel(threadId), (message) => {
      if (queue.length < MAX_QUEUED) queue.push(message as ThreadEvent);
      wake?.();
    });
    let started = false;
    // A stream abandoned before it is read (the client left during setup) still unsubscribes.
    const onAbort = () => (started ? wake?.() : unsubscribe());
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) unsubscribe();
    return (async function* () {
      started = true;
      try {
        while (!signal.aborted) {
          const next = queue.shift();
          if (next) yield next;
          else await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        unsubscribe();
      }
    })();
  }
}
