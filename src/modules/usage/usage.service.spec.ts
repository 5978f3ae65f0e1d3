import { Logger } from '@nestjs/common';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { CatalogEntry } from '../models/models.dto';
import { UsageEvent, UsageService } from './usage.service';
import { NewUsageRecord, UsageRepository } from './usage.repository';

const user: AuthUser = { id: 'u1', username: 'u1', role: 'user', via: 'token', tokenId: 't1' };
const entry = { id: 'gpt', pricing: { input: 0.001, output: 0.002 } } as CatalogEntry;
const event = (n: number): UsageEvent => ({ user, source: 'gateway', entry, status: 'complete', promptTokens: n, completionTokens: 1, latencyMs: 3 });

function writer(fail?: () => Error | undefined) {
  const batches: NewUsageRecord[][] = [];
  const repository = {
    insertMany: async (rows: NewUsageRecord[]) => {
      const error = fail?.();
      if (error) throw error;
      batches.push(rows);
    },
    totals: async () => [],
    chatTotals: async () => [],
  } as unknown as UsageRepository;
  return { service: new UsageService(repository), batches };
}

describe('UsageService (batching writer)', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('writes the records of many calls in one statement, in their order, each with its own time', async () => {
    const { service, batches } = writer();
    for (let i = 1; i <= 3; i++) await service.record(event(i));
    expect(batches).toEqual([]);
    await service.flush();
    expect(batches).toHaveLength(1);
    expect(batches[0].map((r) => r.promptTokens)).toEqual([1, 2, 3]);
    expect(batches[0].every((r) => typeof r.createdAt === 'string' && r.apiTokenId === 't1')).toBe(true);
  });

  it('flushes before it reads, so a summary counts the call just made', async () => {
    const { service, batches } = writer();
    await service.record(event(1));
    await service.summary('u1', 30);
    expect(batches).toHaveLength(1);
  });

  it('keeps the records through a database blink and writes them on the next flush', async () => {
    let down = true;
    const { service, batches } = writer(() => (down ? Object.assign(new Error('Connection terminated unexpectedly'), {}) : undefined));
    await service.record(event(1));
    await service.flush();
    expect(batches).toEqual([]);
    down = false;
    await service.flush();
    expect(batches.flat().map((r) => r.promptTokens)).toEqual([1]);
    await service.onModuleDestroy();
  });

  it('records the cached prompt and reasoning tokens the provider reported, null where it said nothing', async () => {
    const { service, batches } = writer();
    await service.record({ ...event(10), cachedPromptTokens: 8, reasoningTokens: 3 });
    await service.record(event(1));
    await service.flush();
    expect(batches[0].map((r) => [r.cachedPromptTokens, r.reasoningTokens])).toEqual([
      [8, 3],
      [null, null],
    ]);
  });
});
