import { HttpStatus, Logger } from '@nestjs/common';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { ErrorCode } from '../../common/errors/error-codes';
import { ChatMessage, CompletionRequest, ModelProvider, ProviderFeatures, StreamChunk } from '../models/model-provider';
import { CatalogEntry } from '../models/models.dto';
import { ModelsService } from '../models/models.service';
import { ProviderRegistry } from '../models/provider-registry';
import { TokenCounter } from '../models/token-counter';
import { UsageEvent, UsageService } from '../usage/usage.service';
import { ModerationService } from '../moderation/moderation.service';
import { CompletionsService } from './completions.service';

const user: AuthUser = { id: 'u1', username: 'u1', role: 'user', via: 'token', tokenId: 't1' };
const tokens = new TokenCounter();
const entry = { id: 'gpt-5.4-mini', provider: 'openai', model: 'gpt-5.4-mini', pricing: { input: 0.001, output: 0.002 }, capabilities: ['text'] } as CatalogEntry;

/** The service over a scripted provider stream, with the usage it records. */
function setup(
  script: (signal: AbortSignal) => AsyncIterable<StreamChunk>,
  lifecycle = new LifecycleService(),
  features: ProviderFeatures = { tools: true, responseFormat: true, images: true },
) {
  const recorded: UsageEvent[] = [];
  const service = new CompletionsService(
    lifecycle,
    { resolve: async () => ({ entry, providerName: 'openai', apiKey: 'sk' }) } as unknown as ModelsService,
    {
      get: () => ({ features }),
      stream: (_name: string, _request: unknown, signal: AbortSignal) => script(signal),
      // A provider without a non-streaming call of its own: its stream, gathered.
      complete: (_name: string, request: CompletionRequest, signal: AbortSignal) =>
        ModelProvider.prototype.complete.call({ name: 'openai', stream: () => script(signal) } as unknown as ModelProvider, request, signal),
    } as unknown as ProviderRegistry,
    { check: () => undefined } as unknown as ModerationService,
    tokens,
    { record: async (event: UsageEvent) => void recorded.push(event) } as unknown as UsageService,
  );
  const prepare = () => service.prepare(user, 'gateway', 'gpt-5.4-mini', [{ role: 'user', content: 'Say hello to the world' }], { temperature: 0.2 });
  return { service, prepare, recorded };
}

async function* chunks(...items: Array<StreamChunk | Error>): AsyncIterable<StreamChunk> {
  for (const item of items) {
    if (item instanceof Error) throw item;
    yield item;
  }
}

describe('CompletionsService', () => {
  // Its "Model call" lines and the expected "Completion failed" errors: not the test output's business.
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('records one complete call with the provider counts, before the final chunk is handed out', async () => {
    const { service, prepare, recorded } = setup(() =>
      chunks({ type: 'text', text: 'Hello' }, { type: 'done', finishReason: 'stop', usage: { inputTokens: 9, outputTokens: 1 } }),
    );
    const call = await prepare();
    expect(call.request).toMatchObject({ model: 'gpt-5.4-mini', temperature: 0.2, apiKey: 'sk' });
    const seen: Array<[string, number]> = [];
    for await (const chunk of service.stream(call, new AbortController().signal)) seen.push([chunk.type, recorded.length]);
    expect(seen).toEqual([
      ['text', 0],
      ['done', 1],
    ]);
    expect(recorded).toEqual([expect.objectContaining({ source: 'gateway', status: 'complete', promptTokens: 9, completionTokens: 1, entry, user })]);
  });

  it('counts tokens itself when the provider reports none', async () => {
    const { service, prepare, recorded } = setup(() =>
      chunks({ type: 'text', text: 'Hello there, world' }, { type: 'done', finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } }),
    );
    const result = await service.complete(await prepare(), new AbortController().signal);
    expect(result).toEqual({ text: 'Hello there, world', finishReason: 'stop', promptTokens: await tokens.countMessage('Say hello to the world'), completionTokens: await tokens.count('Hello there, world') });
    expect(recorded[0]).toMatchObject({ promptTokens: result.promptTokens, completionTokens: result.completionTokens });
  });

  it('records a failed call as an error with its code (a non-streaming call has no partial answer)', async () => {
    const failure = new AppException(ErrorCode.PROVIDER_UNAVAILABLE, 'openai is unavailable', HttpStatus.BAD_GATEWAY);
    const { service, prepare, recorded } = setup(() => chunks({ type: 'text', text: 'Hel' }, failure));
    await expect(service.complete(await prepare(), new AbortController().signal)).rejects.toBe(failure);
    expect(recorded).toEqual([expect.objectContaining({ status: 'error', errorCode: 'PROVIDER_UNAVAILABLE', completionTokens: 0 })]);
  });

  it('hides unexpected errors behind INTERNAL_ERROR', async () => {
    const { service, prepare, recorded } = setup(() => chunks(new TypeError('boom at some internal line')));
    await expect(service.complete(await prepare(), new AbortController().signal)).rejects.toMatchObject({ code: 'INTERNAL_ERROR', message: 'The answer could not be generated' });
    expect(recorded[0]).toMatchObject({ status: 'error', errorCode: 'INTERNAL_ERROR' });
  });

  it('a stream without a final chunk is a provider error, not a complete answer', async () => {
    const { service, prepare, recorded } = setup(() => chunks({ type: 'text', text: 'Hel' }));
    await expect(service.complete(await prepare(), new AbortController().signal)).rejects.toMatchObject({ code: 'PROVIDER_ERROR' });
    expect(recorded[0]).toMatchObject({ status: 'error' });
  });

  it('records a call the consumer stops (client gone) as cancelled, once', async () => {
    const controller = new AbortController();
    const { service, prepare, recorded } = setup(() =>
      chunks({ type: 'text', text: 'one' }, { type: 'text', text: 'two' }, { type: 'done', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 2 } }),
    );
    for await (const _chunk of service.stream(await prepare(), controller.signal)) {
      controller.abort();
      break;
    }
    expect(recorded).toEqual([expect.objectContaining({ status: 'cancelled', completionTokens: 1 })]);
  });

  it('records a cache hit as cached, with no provider call', async () => {
    let streamed = false;
    const { service, prepare, recorded } = setup(() => {
      streamed = true;
      return chunks();
    });
    await service.recordCached(await prepare(), { text: 'x', finishReason: 'stop', promptTokens: 4, completionTokens: 1 });
    expect(streamed).toBe(false);
    expect(recorded).toEqual([expect.objectContaining({ status: 'complete', cached: true, promptTokens: 4, completionTokens: 1 })]);
  });

  it('refuses new calls with 503 once the server stops accepting work', async () => {
    const lifecycle = new LifecycleService();
    const { prepare } = setup(() => chunks(), lifecycle);
    lifecycle.stopAcceptingWork();
    await expect(prepare()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('passes tool-call deltas through and gathers them, with the usage details, in a non-streaming call', async () => {
    const script = () =>
      chunks(
        { type: 'tool_call', index: 0, id: 'call_1', name: 'weather', arguments: '{"city":' },
        { type: 'tool_call', index: 0, arguments: '"Paris"}' },
        { type: 'done', finishReason: 'tool_calls', usage: { inputTokens: 9, outputTokens: 4, cachedInputTokens: 8, reasoningTokens: 2 } },
      );
    const { service, prepare } = setup(script);
    const streamed = [];
    for await (const chunk of service.stream(await prepare(), new AbortController().signal)) streamed.push(chunk);
    expect(streamed.map((c) => c.type)).toEqual(['tool_call', 'tool_call', 'done']);
    expect(streamed[2]).toMatchObject({ finishReason: 'tool_calls', usage: { cachedInputTokens: 8, reasoningTokens: 2 } });
    const result = await service.complete(await prepare(), new AbortController().signal);
    expect(result).toMatchObject({ finishReason: 'tool_calls', toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }], cachedPromptTokens: 8, reasoningTokens: 2 });
  });

  it('refuses, naming the parameter, what the provider or model cannot do instead of dropping it', async () => {
    const none = { tools: false, responseFormat: false, images: false };
    const { service } = setup(() => chunks(), new LifecycleService(), none);
    const ask = (parameters: object, content: Partial<ChatMessage> = {}) =>
      service.prepare(user, 'gateway', 'gpt-5.4-mini', [{ role: 'user', content: 'Hi', ...content }], parameters);
    await expect(ask({ tools: [{ name: 'weather' }] })).rejects.toMatchObject({ details: { fields: { tools: [expect.stringContaining('does not support tools')] } } });
    await expect(ask({ responseFormat: { type: 'json_object' } })).rejects.toMatchObject({ details: { fields: { response_format: [expect.any(String)] } } });
    await expect(ask({ responseFormat: { type: 'text' } })).resolves.toBeDefined();
    // Images need the provider's support and a model the catalog marks with `vision`.
    const image = { images: [{ mediaType: 'image/png', data: 'iVBORw0KGgo=' }] };
    await expect(setup(() => chunks()).service.prepare(user, 'gateway', 'gpt-5.4-mini', [{ role: 'user', content: 'Hi', ...image }], {})).rejects.toMatchObject({
      details: { fields: { messages: [expect.stringContaining('does not support images')] } },
    });
  });
});
