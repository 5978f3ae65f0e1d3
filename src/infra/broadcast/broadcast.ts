/** A message handler; it must not throw (a throw is logged by the adapter). */
export type BroadcastHandler = (message: unknown) => void;

/**
 * Port: fire-and-forget messages to every process of the deployment (cancels, thread
 * events). In memory for one process; Redis pub/sub when scaled out. Delivery is at most
 * once: whatever must not be lost lives in the stream bus or the database.
 */
export abstract class Broadcast {
  abstract publish(channel: string, message: unknown): Promise<void>;
  /** Resolves, with the unsubscriber, once messages published from then on reach `handler`. */
  abstract subscribe(channel: string, handler: BroadcastHandler): Promise<() => void>;
}
