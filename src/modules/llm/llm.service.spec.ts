import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { loadConfig } from '../../config/app.config';
import { CallResult, CompletionsService, PreparedCall } from '../gateway/completions.service';
import { CatalogEntry } from '../models/models.dto';
import { ModelsService } from '../models/models.service';
import { LlmService } from './llm.service';

const entry = { id: 'gpt-5.4-mini', provider: 'openai', model: 'gpt-5.4-mini' } as CatalogEntry;
const alice: AuthUser = { id: 'alice', username: 'alice', role: 'user', via: 'session' };
const bob: AuthUser = { id: 'bob', username: 'bob', role: 'user', via: 'session' };

/** The service over a fake provider call that answers "answer N" for the Nth upstream call. */
function setup(env: Record<string, string> = {}) {
  let upstreamCalls = 0;
  const cachedRecords: CallResult[] = [];
  const completions = {
    prepare: async (user: AuthUser, source: 'llm', modelId: string, messages: PreparedCall['request']['messages'], parameters: object) =>
      ({ user, source, entry: { ...entry, id: modelId }, providerName: 'openai', request: { model: modelId, messages, ...parameters }, started: 0 }) as PreparedCall,
    complete: async (): Promise<CallResult> => ({ text: `answer ${++upstreamCalls}`, finishReason: 'stop', promptTokens: 3, completionTokens: 2 }),
    recordCached: async (_call: PreparedCall, result: CallResult) => void cachedRecords.push(result),
  } as unknown as CompletionsService;
  const models = { firstOf: (provider: string) => ({ ...entry, id: `${provider}-first` }) } as unknown as ModelsService;
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'a'.repeat(64), EMBEDDED_DB_PATH: 'memory://', ...env });
  const service = new LlmService(config, completions, models);
  const ask = (user: AuthUser, extra: object = {}) => service.complete(user, { prompt: 'What is SSE?', model: 'gpt-5.4-mini', ...extra }, new AbortController().signal);
  return { ask, upstreamCalls: () => upstreamCalls, cachedRecords };
}

describe('LlmService cache', () => {
  it('is off unless LLM_CACHE_ENABLED', async () => {
    const { ask, upstreamCalls } = setup();
    await ask(alice);
    expect(await ask(alice)).toMatchObject({ content: 'answer 2', cached: false });
    expect(upstreamCalls()).toBe(2);
  });

  it('answers an identical request from the cache and records it as a cached call', async () => {
    const { ask, upstreamCalls, cachedRecords } = setup({ LLM_CACHE_ENABLED: 'true' });
    expect(await ask(alice, { temperature: 0.5 })).toMatchObject({ content: 'answer 1', cached: false });
    expect(await ask(alice, { temperature: 0.5 })).toMatchObject({ content: 'answer 1', cached: true, usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } });
    expect(upstreamCalls()).toBe(1);
    expect(cachedRecords).toHaveLength(1);
  });

  it.each([
    ['another user', bob, {}],
    ['another model', alice, { model: 'claude-sonnet' }],
    ['another temperature', alice, { temperature: 0.9 }],
    ['another max tokens', alice, { maxTokens: 10 }],
    ['another system prompt', alice, { system: 'Be terse.' }],
    ['another prompt', alice, { prompt: 'What is HTTP?' }],
  ])('keys on every parameter: %s misses', async (_name, user, extra) => {
    const { ask, upstreamCalls } = setup({ LLM_CACHE_ENABLED: 'true' });
    await ask(alice);
    expect(await ask(user, extra)).toMatchObject({ cached: false });
    expect(upstreamCalls()).toBe(2);
  });

  it('is bypassed with useCache: false', async () => {
    const { ask, upstreamCalls } = setup({ LLM_CACHE_ENABLED: 'true' });
    await ask(alice);
    expect(await ask(alice, { useCache: false })).toMatchObject({ content: 'answer 2', cached: false });
    expect(upstreamCalls()).toBe(2);
  });

  it('holds at most LLM_CACHE_MAX_ENTRIES answers, dropping the least recently used', async () => {
    const { ask, upstreamCalls } = setup({ LLM_CACHE_ENABLED: 'true', LLM_CACHE_MAX_ENTRIES: '2' });
    await ask(alice, { prompt: 'a' });
    await ask(alice, { prompt: 'b' });
    await ask(alice, { prompt: 'c' }); // evicts "a"
    expect(await ask(alice, { prompt: 'c' })).toMatchObject({ cached: true });
    expect(await ask(alice, { prompt: 'a' })).toMatchObject({ cached: false });
    expect(upstreamCalls()).toBe(4);
  });

  it('forgets answers older than LLM_CACHE_TTL_SECONDS', async () => {
    const { ask } = setup({ LLM_CACHE_ENABLED: 'true', LLM_CACHE_TTL_SECONDS: '1' });
    await ask(alice);
    expect(await ask(alice)).toMatchObject({ cached: true });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await ask(alice)).toMatchObject({ content: 'answer 2', cached: false });
  });
});
