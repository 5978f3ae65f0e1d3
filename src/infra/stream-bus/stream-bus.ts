/** One event of a live generation, as the SSE endpoints send it. */
export interface BusEvent {
  event: string;
  data: unknown;
}

export interface SequencedEvent extends BusEvent {
  /** Position in its stream, from 1: what `Last-Event-ID` refers to. */
  id: number;
}

/**
 * Port: ordered, replayable event streams keyed by id (a generation's assistant message
 * id). In memory for one process; Redis Streams when scaled out, behind the same methods.
 */
export abstract class StreamBus {
  abstract publish(streamId: string, event: BusEvent): Promise<number>;
  /** Marks the stream finished; readers end after its last event. */
  abstract end(streamId: string): Promise<void>;
  abstract exists(streamId: string): Promise<boolean>;
  /** Every event after `afterId` (0 = from the start), then live ones, until the stream ends or `signal` aborts. */
  abstract read(streamId: string, afterId: number, signal: AbortSignal): AsyncIterable<SequencedEvent>;
}
