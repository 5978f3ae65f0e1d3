import { Injectable } from '@nestjs/common';
import { ClaimResult, GenerationRecord, GenerationRegistry } from './generation-registry';

/** The single-process registry: a map. Nothing is ever orphaned while the process lives. */
@Injectable()
export class InMemoryGenerationRegistry extends GenerationRegistry {
  private readonly records = new Map<string, GenerationRecord>();

  async claim(record: GenerationRecord, maxPerUser: number): Promise<ClaimResult> {
    const running = [...this.records.values()];
    if (running.some((r) => r.threadId === record.threadId && r.modelId === record.modelId)) return 'busy';
    if (running.filter((r) => r.userId === record.userId).length >= maxPerUser) return 'user-limit';
    this.records.set(record.messageId, record);
    return 'claimed';
  }

  async release(record: GenerationRecord): Promise<void> {
    this.records.delete(record.messageId);
  }

  async find(messageId: string): Promise<GenerationRecord | undefined> {
    return this.records.get(messageId);
  }

  async inThread(threadId: string): Promise<string[]> {
    return [...this.records.values()].filter((r) => r.threadId === threadId).map((r) => r.messageId);
  }

  async claimOrphans(): Promise<GenerationRecord[]> {
    return [];
  }
}
