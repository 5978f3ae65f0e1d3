/** What every pod may need to know about a running answer. */
export interface GenerationRecord {
  messageId: string;
  userId: string;
  threadId: string;
  modelId: string;
  userMessageId: string;
  temperature: number;
  /** Epoch ms. */
  startedAt: number;
}

export type ClaimResult = 'claimed' | 'busy' | 'user-limit';

/**
 * Port: the running answers of the whole deployment. It enforces one answer per thread
 * and model and the per-user cap, and finds answers whose pod died. In memory for one
 * process; Redis (with a heartbeat per answer) when scaled out.
 */
export abstract class GenerationRegistry {
  protected readonly lostHandlers: Array<(messageId: string) => void> = [];

  /**
   * Called with an answer this pod runs that another pod has meanwhile finalised (this pod
   * was taken for dead: a long pause, a partition); the answer should stop at once.
   */
  onLost(handler: (messageId: string) => void): void {
    this.lostHandlers.push(handler);
  }

  /** Atomically checks the thread+model is free and the user under `maxPerUser`, and records the answer. */
  abstract claim(record: GenerationRecord, maxPerUser: number): Promise<ClaimResult>;
  /** Forgets a finished answer (and stops its heartbeat). */
  abstract release(record: GenerationRecord): Promise<void>;
  abstract find(messageId: string): Promise<GenerationRecord | undefined>;
  /** Ids of the answers running in a thread, on any pod. */
  abstract inThread(threadId: string): Promise<string[]>;
  /**
   * Answers whose pod stopped renewing their heartbeat, each handed to one caller only
   * (for a while: if that caller dies too, another gets it later).
   */
  abstract claimOrphans(): Promise<GenerationRecord[]>;
}
