import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Broadcast } from '../broadcast/broadcast';
import { Metrics } from '../metrics/metrics';
import { GenerationRecord, GenerationRegistry } from './generation-registry';

/** Why a generation was stopped before its provider finished: a cancel, shutdown, or another pod took it for dead. */
export type StopReason = 'cancelled' | 'shutdown' | 'lost';

/** A generation in progress on this process: who it is for, and how to stop it. */
export interface RunningGeneration {
  record: GenerationRecord;
  abort: AbortController;
  stopReason?: StopReason;
  /** Settles once the answer is stored (or storing gave up) and its readers got the last event. */
  settled: Promise<unknown>;
}

/** Broadcast channel on which any pod asks the owner of an answer to stop it. */
const CANCEL_CHANNEL = 'generation-cancel';

/**
 * The generations running on this process, keyed by assistant message id, with the means
 * to stop them; stopping one that runs on another pod goes through the broadcast, which
 * its pod is subscribed to.
 */
@Injectable()
export class RunningGenerations implements OnModuleInit, OnModuleDestroy {
  private readonly byMessage = new Map<string, RunningGeneration>();
  private unsubscribe?: () => void;

  constructor(
    private readonly broadcast: Broadcast,
    private readonly registry: GenerationRegistry,
    metrics: Metrics,
  ) {
    metrics.reportRunningGenerations(() => this.byMessage.size);
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = await this.broadcast.subscribe(CANCEL_CHANNEL, (message) => {
      const generation = this.byMessage.get((message as { messageId?: string }).messageId ?? '');
      if (generation) this.stop(generation, 'cancelled');
    });
    this.registry.onLost((messageId) => {
      const generation = this.byMessage.get(messageId);
      if (generation) this.stop(generation, 'lost');
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  add(generation: RunningGeneration): void {
    this.byMessage.set(generation.record.messageId, generation);
  }

  remove(messageId: string): void {
    this.byMessage.delete(messageId);
  }

  all(): RunningGeneration[] {
    return [...this.byMessage.values()];
  }

  /** Stops a local generation: it ends soon after, stored with its text so far. */
  stop(generation: RunningGeneration, reason: StopReason): void {
    generation.stopReason ??= reason;
    generation.abort.abort();
  }

  /** Stops an answer wherever it runs (this pod at once, another through the broadcast). */
  async cancel(messageId: string): Promise<void> {
    const local = this.byMessage.get(messageId);
    if (local) return this.stop(local, 'cancelled');
    await this.broadcast.publish(CANCEL_CHANNEL, { messageId });
  }

  /** Stops every answer of a thread; waits until this pod's have stored theirs. */
  async cancelThread(threadId: string): Promise<void> {
    const remote = (await this.registry.inThread(threadId).catch(() => [] as string[])).filter((id) => !this.byMessage.has(id));
    await Promise.allSettled(remote.map((id) => this.cancel(id)));
    const local = this.all().filter((g) => g.record.threadId === threadId);
    for (const g of local) this.stop(g, 'cancelled');
    await Promise.allSettled(local.map((g) => g.settled));
  }
}
