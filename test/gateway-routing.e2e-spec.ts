import OpenAI from 'openai';
import { UsageService } from '../src/modules/usage/usage.service';
import { FakeAnthropic, FakeOpenAI } from './fakes';
import { openaiClientWithNewToken, rejection, upstreamEnv, useFakeUpstreams } from './support/gateway-clients';
import { createTestApp, registerUser, SignedIn, TestApp } from './support/test-app';

/**
 * `provider/model` ids on /v1, as peer gateways route them, driven by the official `openai` SDK:
 * a listed model by its provider's name for it (priced), any other model of a configured
 * provider when ALLOW_UNLISTED_MODELS allows (unpriced), nothing else.
 */

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic();
useFakeUpstreams(openai, anthropic);

const routingEnv = () => ({
  ...upstreamEnv({ openai, anthropic }),
  PROVIDER_MAX_RETRIES: '0',
  RATE_LIMITS: 'register=1000,profile.tokens=1000,gateway=1000',
});

const ask = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Say hello' }] });

describe('Gateway model routing (e2e)', () => {
  describe('with unlisted models allowed (the default outside production)', () => {
    let t: TestApp;
    let alice: SignedIn;
    let client: OpenAI;

    beforeAll(async () => {
      t = await createTestApp({ listen: true, env: routingEnv() });
      alice = await registerUser(t);
      client = await openaiClientWithNewToken(t, alice);
    });
    afterAll(() => t.close());

    it('reaches a listed model by provider/model, under the id asked for and priced as the catalog says', async () => {
      const completion = await ask(client, 'openai/gpt-5.4-mini');
      expect(completion.choices[0].message.content).toBe('Hello, world!');
      expect(openai.requests[0].body.model).toBe('gpt-5.4-mini');
      await t.app.get(UsageService).flush();
      const usage = (await t.http().get('/api/usage').set(alice.auth).expect(200)).body.data;
      expect(usage.byModel).toEqual([expect.objectContaining({ modelId: 'gpt-5.4-mini', cost: expect.any(Number) })]);
      expect(usage.byModel[0].cost).toBeGreaterThan(0);
    });

    it('reaches a model the catalog does not list, on each provider, recorded unpriced', async () => {
      const bob = await registerUser(t);
      const bobs = await openaiClientWithNewToken(t, bob);
      expect((await ask(bobs, 'openai/gpt-9-experimental')).model).toBe('openai/gpt-9-experimental');
      expect(openai.requests[0].body.model).toBe('gpt-9-experimental');
      await ask(bobs, 'anthropic/claude-future-1');
      expect(anthropic.requests[0].body.model).toBe('claude-future-1');
      await t.app.get(UsageService).flush();
      const usage = (await t.http().get('/api/usage').set(bob.auth).expect(200)).body.data;
      expect(usage.byModel.map((line: { modelId: string; cost: number | null }) => [line.modelId, line.cost]).sort()).toEqual([
        ['anthropic/claude-future-1', null],
        ['openai/gpt-9-experimental', null],
      ]);
    });

    it('answers 404 model_not_found for a provider that is not configured, or a bare slash', async () => {
      for (const model of ['nope/some-model', 'openai/', '/gpt-5.4-mini']) {
        const error = await rejection(ask(client, model));
        expect(error).toBeInstanceOf(OpenAI.NotFoundError);
        expect(error.code).toBe('model_not_found');
      }
      expect(openai.requests).toHaveLength(0);
    });
  });

  describe('with ALLOW_UNLISTED_MODELS=false', () => {
    let t: TestApp;
    let client: OpenAI;

    beforeAll(async () => {
      t = await createTestApp({ listen: true, env: { ...routingEnv(), ALLOW_UNLISTED_MODELS: 'false' } });
      client = await openaiClientWithNewToken(t, await registerUser(t));
    });
    afterAll(() => t.close());

    it('still routes listed models by provider/model, and refuses the others with 404', async () => {
      expect((await ask(client, 'openai/gpt-5.4-mini')).choices[0].message.content).toBe('Hello, world!');
      const error = await rejection(ask(client, 'openai/gpt-9-experimental'));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(openai.requests).toHaveLength(1);
    });
  });
});
