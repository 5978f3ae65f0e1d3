import { GenerationRecord } from './generation-registry';
import { InMemoryGenerationRegistry } from './in-memory-generation-registry';

const record = (messageId: string, over: Partial<GenerationRecord> = {}): GenerationRecord => ({
  messageId,
  userMessageId: `u-${messageId}`,
  userId: 'alice',
  threadId: 't1',
  modelId: 'gpt',
  temperature: 0.7,
  startedAt: 0,
  ...over,
});

describe('InMemoryGenerationRegistry', () => {
  it('allows one answer per thread and model, and frees it on release', async () => {
    const registry = new InMemoryGenerationRegistry();
    expect(await registry.claim(record('a'), 3)).toBe('claimed');
    expect(await registry.claim(record('b'), 3)).toBe('busy');
    expect(await registry.claim(record('c', { modelId: 'claude' }), 3)).toBe('claimed');
    expect(await registry.inThread('t1')).toEqual(['a', 'c']);
    await registry.release(record('a'));
    expect(await registry.claim(record('b'), 3)).toBe('claimed');
    expect(await registry.find('a')).toBeUndefined();
  });

  it("holds the per-user cap, counting only that user's answers", async () => {
    const registry = new InMemoryGenerationRegistry();
    for (const id of ['a', 'b']) expect(await registry.claim(record(id, { threadId: id }), 2)).toBe('claimed');
    expect(await registry.claim(record('c', { threadId: 'c' }), 2)).toBe('user-limit');
    expect(await registry.claim(record('d', { threadId: 'd', userId: 'bob' }), 2)).toBe('claimed');
    expect(await registry.claimOrphans()).toEqual([]);
  });
});
