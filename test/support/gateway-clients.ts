import { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { FakeAnthropic, FakeGemini, FakeOllama, FakeOpenAI, FakeUpstream } from '../fakes';
import { SignedIn, TestApp } from './test-app';

/**
 * Starts the fake upstreams once for the file, stops them at its end, and forgets their
 * scripts and recorded requests before each test. Registers the jest hooks: call it at the
 * top of the file, so the fakes are up before any app is created against their URLs.
 */
export function useFakeUpstreams(...fakes: FakeUpstream[]): void {
  beforeAll(() => Promise.all(fakes.map((f) => f.start())));
  afterAll(() => Promise.all(fakes.map((f) => f.stop())));
  beforeEach(() => fakes.forEach((f) => f.reset()));
}

/** The fakes an app should talk to; a provider left out is not configured at all. */
export interface Upstreams {
  openai?: FakeOpenAI;
  anthropic?: FakeAnthropic;
  gemini?: FakeGemini;
  ollama?: FakeOllama;
}

/**
 * The app's env for pointing each given provider at its fake, with a server-side key for
 * those that need one. Read the fakes' URLs only once they have started (in a beforeAll).
 */
export function upstreamEnv({ openai, anthropic, gemini, ollama }: Upstreams): Record<string, string> {
  return {
    ...(openai && { OPENAI_BASE_URL: `${openai.url}/v1`, OPENAI_API_KEY: 'sk-server-openai' }),
    ...(anthropic && { ANTHROPIC_BASE_URL: anthropic.url, ANTHROPIC_API_KEY: 'sk-server-anthropic' }),
    ...(gemini && { GOOGLE_BASE_URL: gemini.url, GOOGLE_API_KEY: 'server-google-key' }),
    ...(ollama && { OLLAMA_BASE_URL: ollama.url }),
  };
}

/** A new API token of `who`, made the way a user makes one for a program (POST /api/profile/tokens). */
export async function createApiToken(t: TestApp, who: SignedIn): Promise<{ token: string; id: string }> {
  const res = await t.http().post('/api/profile/tokens').set(who.auth).send({ name: 'program' }).expect(201);
  return { token: res.body.data.token, id: res.body.data.id };
}

/** The app's OpenAI-compatible base URL; the app must have been created with `listen: true`. */
export function gatewayUrl(t: TestApp): string {
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}/v1`;
}

/**
 * The official `openai` SDK pointed at the app, as a program would configure it (only baseURL
 * and apiKey changed). Retries are off so that a refused request fails the test at once.
 */
export function openaiClient(t: TestApp, apiKey: string): OpenAI {
  return new OpenAI({ apiKey, baseURL: gatewayUrl(t), maxRetries: 0 });
}

/** An `openaiClient` holding a new API token of `who`. */
export async function openaiClientWithNewToken(t: TestApp, who: SignedIn): Promise<OpenAI> {
  return openaiClient(t, (await createApiToken(t, who)).token);
}

/** The error `promise` rejects with, to assert on its class and fields; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
