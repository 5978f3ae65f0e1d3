import { Type } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Writable } from 'node:stream';
import request from 'supertest';
import type { Response as SuperResponse } from 'superagent';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/app.config';
import { specValidator } from './openapi-validator';

/**
 * Set by .ci/run to run the same suites against a real PostgreSQL; unset, every test app
 * gets its own in-memory PGlite.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
/** The machine's Redis (CI sets it explicitly). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  http: () => ReturnType<typeof request>;
  /** Every log line written so far, parsed. */
  logs: Array<Record<string, unknown>>;
  close: () => Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Extra controllers, e.g. one that throws, mounted beside the real app. */
  controllers?: Type<unknown>[];
  listen?: boolean;
  /** Check every response of `http()` against openapi.json (default true). */
  validateResponses?: boolean;
  /** Always the embedded database (env may name its directory), even when TEST_DATABASE_URL is set. */
  embedded?: boolean;
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/**
 * supertest, with one more assertion on every request: the response matches openapi.json
 * (route, status, media type, schema; see openapi-validator.ts). It runs after the test's
 * own `.expect()`s, so a wrong status still reads as such.
 */
function validatingRequest(server: Parameters<typeof request>[0]): ReturnType<typeof request> {
  const agent = request(server);
  return new Proxy(agent, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !HTTP_METHODS.includes(prop) || typeof value !== 'function') return value;
      return (url: string, ...rest: unknown[]) => {
        const test = (value as (...a: unknown[]) => request.Test).call(target, url, ...rest);
        const end = test.end;
        let hooked = false;
        test.end = function (this: request.Test, fn?: request.CallbackHandler) {
          if (!hooked) {
            hooked = true;
            this.expect((res: SuperResponse) => {
              const problems = specValidator().check(prop, url, { status: res.status, headers: res.headers, body: res.body, text: res.text });
              if (problems.length) throw new Error(`Response does not match openapi.json:\n${problems.join('\n')}`);
            });
          }
          return end.call(this, fn);
        } as typeof test.end;
        return test;
      };
    },
  });
}

export function testConfig(env: Record<string, string> = {}, embedded = false): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    PASSWORD_HASH_MEMORY_KIB: '1024',
    // Suites sign in many users from 127.0.0.1; suites about limits set RATE_LIMITS: '' to get seed 001's.
    RATE_LIMITS: 'login=1000,register=1000,refresh=1000',
    // Providers point at a closed local port unless a suite starts a fake: tests never leave the machine.
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
    GOOGLE_BASE_URL: 'http://127.0.0.1:9',
    OLLAMA_BASE_URL: 'http://127.0.0.1:9',
    DEMO_TOKEN_DELAY_MS: '0',
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
    ENCRYPTION_KEY: 'a'.repeat(64),
    ...(TEST_DATABASE_URL && !embedded ? { DATABASE_URL: TEST_DATABASE_URL, MIGRATE_ON_START: 'true' } : { EMBEDDED_DB_PATH: 'memory://' }),
    ...env,
  });
}

/** Boots the real application (AppModule + configureApp, as main.ts does) for one suite. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(options.env, options.embedded);
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot(config, { logDestination: destination })],
    controllers: options.controllers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true, bodyParser: false });
  await configureApp(app);
  if (options.listen) await app.listen(0, '127.0.0.1');
  else await app.init();
  let closed = false;
  return {
    app,
    config,
    logs,
    http: () => (options.validateResponses === false ? request(app.getHttpServer()) : validatingRequest(app.getHttpServer())),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}

export interface SignedIn {
  user: { id: string; username: string; role: string };
  /** Raw access JWT, usable as `Authorization: Bearer …`. */
  accessToken: string;
  refreshToken: string;
  /** `Cookie` header value carrying both session cookies. */
  cookies: string;
  auth: { Authorization: string };
}

export function cookieValue(setCookie: string[] | string | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const line = list.find((c) => c.startsWith(`${name}=`));
  return line ? decodeURIComponent(line.slice(name.length + 1).split(';')[0]) : undefined;
}

export function sessionFrom(res: { body: { data: { user: SignedIn['user'] } }; headers: Record<string, unknown> }): SignedIn {
  const setCookie = res.headers['set-cookie'] as string[];
  const accessToken = cookieValue(setCookie, 'access_token')!;
  const refreshToken = cookieValue(setCookie, 'refresh_token')!;
  return {
    user: res.body.data.user,
    accessToken,
    refreshToken,
    cookies: `access_token=${accessToken}; refresh_token=${refreshToken}`,
    auth: { Authorization: `Bearer ${accessToken}` },
  };
}

let userCounter = 0;
export const DEFAULT_PASSWORD = 'correct horse battery';

/** Registers a fresh user (unique username per call) and returns its session. */
export async function registerUser(t: TestApp, overrides: { username?: string; password?: string } = {}): Promise<SignedIn> {
  const username = overrides.username ?? `user${++userCounter}.${Date.now()}@example.com`;
  const res = await t
    .http()
    .post('/api/register')
    .send({ username, password: overrides.password ?? DEFAULT_PASSWORD })
    .expect(201);
  return sessionFrom(res);
}

export async function login(t: TestApp, username: string, password: string): Promise<SignedIn> {
  const res = await t.http().post('/api/login').send({ username, password }).expect(200);
  return sessionFrom(res);
}

/** Seed 001's error envelope with the given status and code, echoing the request id. */
export function expectError(res: { status: number; body: unknown; headers: Record<string, unknown> }, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: {
      success: false,
      error: expect.objectContaining({ code, message: expect.any(String) }),
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      requestId: res.headers['x-request-id'],
    },
  });
}
