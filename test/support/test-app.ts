import { Type } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { Writable } from 'node:stream';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { AppConfig, loadConfig } from '../../src/config/app.config';

/**
 * Set by .ci/run to run the same suites against a real PostgreSQL; unset, every test app
 * gets its own in-memory PGlite.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

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
}

export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    JWT_SECRET: 'test-jwt-secret-that-is-long-enough-0123456789',
    ENCRYPTION_KEY: 'a'.repeat(64),
    ...(TEST_DATABASE_URL ? { DATABASE_URL: TEST_DATABASE_URL, MIGRATE_ON_START: 'true' } : { EMBEDDED_DB_PATH: 'memory://' }),
    ...env,
  });
}

/** Boots the real application (AppModule + configureApp, as main.ts does) for one suite. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = testConfig(options.env);
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
    http: () => request(app.getHttpServer()),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
