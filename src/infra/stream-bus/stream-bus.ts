/** One event of a live generation, as the SSE endpoints send it. */
export interface StreamEvent {
  /** The SSE `id:`, chosen by the publisher; it means the same live, buffered or replayed. */
  id: string;
  event: string;
  data: unknown;
}

/**
 * Port: ordered, replayable event streams keyed by id (a generation's assistant message
 * id). In memory for one process; Redis Streams when scaled out, behind the same methods.
 */
export abstract class StreamBus {
  /**
   * Appends an event of a stream this process produces. Events of one stream keep their
   * order; a failure to share them is logged by the adapter, never thrown at the producer.
   */
  abstract publish(streamId: string, event: StreamEvent): void;
  /** Marks a stream this process produces as finished, once its events are shared; readers end after the last one. */
  abstract end(streamId: string): Promise<void>;
  /**
   * Ends a stream whose producer is gone (a dead pod's answer), atomically: unless it has
   * ended already, appends `last` with ids continuing the last event's (`<id>.1`, `<id>.2`…)
   * and ends it. Returns the events it held before, i.e. what its readers were given.
   */
  abstract abandon(streamId: string, last: Array<Omit<StreamEvent, 'id'>>): Promise<{ events: StreamEvent[]; ended: boolean }>;
  abstract exists(streamId: string): Promise<boolean>;
  /** Every event from the start, then live ones, until the stream ends or `signal` aborts. */
  abstract read(streamId: string, signal: AbortSignal): AsyncIterable<StreamEvent>;
}
