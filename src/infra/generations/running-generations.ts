import { Injectable } from '@nestjs/common';

/** A generation in progress on this process: who it is for, and how to stop it. */
export interface RunningGeneration {
  messageId: string;
  userId: string;
  threadId: string;
  modelId: string;
  abort: AbortController;
  cancelled: boolean;
  /** Settles once the answer is stored (or storing gave up) and its readers got the last event. */
  settled: Promise<unknown>;
}

/**
 * The generations running on this process, keyed by assistant message id: the one place
 * that knows which thread and model are busy, how many answers a user has in flight, and
 * how to stop them (a cancel, a deleted thread, shutdown).
 */
@Injectable()
export class RunningGenerations {
  private readonly byMessage = new Map<string, RunningGeneration>();

  add(generation: RunningGeneration): void {
    this.byMessage.set(generation.messageId, generation);
  }

  remove(messageId: string): void {
    this.byMessage.delete(messageId);
  }

  get(messageId: string): RunningGeneration | undefined {
    return this.byMessage.get(messageId);
  }

  all(): RunningGeneration[] {
    return [...this.byMessage.values()];
  }

  isAnswering(threadId: string, modelId: string): boolean {
    return this.all().some((g) => g.threadId === threadId && g.modelId === modelId);
  }

  countForUser(userId: string): number {
    return this.all().filter((g) => g.userId === userId).length;
  }

  /** Stops a generation: it ends soon after, stored as cancelled with its text so far. */
  cancel(generation: RunningGeneration): void {
    generation.cancelled = true;
    generation.abort.abort();
  }

  /** Stops every generation of a thread and waits until each has stored its answer. */
  async cancelThread(threadId: string): Promise<void> {
    const generations = this.all().filter((g) => g.threadId === threadId);
    for (const g of generations) this.cancel(g);
    await Promise.allSettled(generations.map((g) => g.settled));
  }
}
