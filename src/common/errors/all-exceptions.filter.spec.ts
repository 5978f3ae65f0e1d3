import { ArgumentsHost, BadRequestException, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { DatabaseError, Pool } from 'pg';
import { loadConfig } from '../../config/app.config';
import { Prisma, PrismaClient } from '../../infra/database/generated/client';
import { isDatabaseUnavailable } from '../../infra/database/database-errors';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { AppException } from './app.exception';
import { ErrorCode } from './error-codes';

function run(exception: unknown, env: Record<string, string> = {}, path = '/api/things') {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'd'.repeat(64), ...env });
  const res = {
    headersSent: false,
    statusCode: 0,
    body: undefined as unknown,
    headers: {} as Record<string, string>,
    setHeader(name: string, value: string) {
      this.headers[name.toLowerCase()] = value;
    },
    getHeader(name: string) {
      return this.headers[name.toLowerCase()];
    },
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    json(body: unknown) {
      this.body = body;
      return this;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => ({ id: 'req_1', path }), getResponse: () => res }),
  } as unknown as ArgumentsHost;
  new AllExceptionsFilter(config).catch(exception, host);
  return res as {
    statusCode: number;
    headers: Record<string, string>;
    body: { success: boolean; error: { code: string; message: string; details?: unknown }; requestId: string };
  };
}

/** A pg pool whose every query and checkout fails with `failure`, as a real pool does during an outage. */
class FailingPool extends Pool {
  constructor(private readonly failure: Error) {
    super();
  }
  override query = (() => Promise.reject(this.failure)) as unknown as Pool['query'];
  override connect = (() => Promise.reject(this.failure)) as unknown as Pool['connect'];
}

/** pg's own error object for a server message, as its protocol parser builds it. */
function pgError(code: string, severity: string, message: string): DatabaseError {
  const error = new DatabaseError(message, message.length, 'error');
  Object.assign(error, { code, severity });
  return error;
}

/** The error Prisma 7 (real client, real adapter-pg) throws when the driver fails with `pool`'s error. */
async function prismaFailure(pool: Pool, query: (prisma: PrismaClient) => Promise<unknown>): Promise<unknown> {
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  try {
    await query(prisma);
  } catch (error) {
    return error;
  } finally {
    await pool.end().catch(() => undefined);
  }
  throw new Error('expected the query to fail');
}
const modelQuery = (prisma: PrismaClient) => prisma.user.count();
const rawQuery = (prisma: PrismaClient) => prisma.$queryRaw`SELECT 1`;
const transaction = (prisma: PrismaClient) => prisma.$transaction((tx) => tx.user.count());

const prismaError = (code: string) => new Prisma.PrismaClientKnownRequestError('db said no: secret detail', { code, clientVersion: '7.10.0' });

describe('AllExceptionsFilter', () => {
  // The filter logs server errors; the cases below are expected, keep the output quiet.
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it.each([
    ['P2002', 409, 'CONFLICT'],
    ['P2025', 404, 'NOT_FOUND'],
    ['P2003', 409, 'CONFLICT'],
    ['P2000', 400, 'VALIDATION_ERROR'],
    ['P1001', 503, 'SERVICE_UNAVAILABLE'],
    ['P2010', 500, 'INTERNAL_ERROR'],
  ])('maps Prisma %s to %i %s without the driver message', (code, status, errorCode) => {
    const { statusCode, body } = run(prismaError(code));
    expect(statusCode).toBe(status);
    expect(body.error.code).toBe(errorCode);
    expect(body.error.message).not.toContain('secret detail');
    expect(body.requestId).toBe('req_1');
  });

  it('keeps an AppException as thrown', () => {
    const { statusCode, body } = run(AppException.validation('Bad', { fields: { a: ['x'] } }));
    expect(statusCode).toBe(400);
    expect(body.error).toEqual({ code: 'VALIDATION_ERROR', message: 'Bad', details: { fields: { a: ['x'] } } });
  });

  it('maps Nest HTTP exceptions by status', () => {
    expect(run(new NotFoundException()).body.error.code).toBe('NOT_FOUND');
    expect(run(new BadRequestException('nope')).body.error).toEqual({ code: 'BAD_REQUEST', message: 'nope' });
  });

  it('shows the cause of an unexpected error outside production only', () => {
    expect(run(new Error('boom internals')).body.error.details).toEqual({ cause: 'Error: boom internals' });
    const prod = run(new Error('boom internals'), { NODE_ENV: 'production' });
    expect(prod.statusCode).toBe(500);
    expect(JSON.stringify(prod.body)).not.toContain('boom internals');
  });

  describe('when the database is unavailable (errors from the real Prisma client and adapter-pg)', () => {
    const notAccepting = () => pgError('55000', 'FATAL', 'database "parley_secret_db" is not currently accepting connections');
    const terminated = () => pgError('57P01', 'FATAL', 'terminating connection due to administrator command');

    it.each([
      ['refused connection (ECONNREFUSED, P1001)', () => new Pool({ host: '127.0.0.1', port: 9 }), modelQuery, 'P1001'],
      ['database not accepting connections, model query (55000 FATAL, P2039)', () => new FailingPool(notAccepting()), modelQuery, 'P2039'],
      ['database not accepting connections, interactive transaction', () => new FailingPool(notAccepting()), transaction, 'P2039'],
      ['backend terminated, raw query (57P01, P2010)', () => new FailingPool(terminated()), rawQuery, 'P2010'],
      ['connection lost mid-query (pg plain Error)', () => new FailingPool(new Error('Connection terminated unexpectedly')), modelQuery, undefined],
      ['pool checkout timeout', () => new FailingPool(new Error('timeout exceeded when trying to connect')), transaction, undefined],
    ])('answers 503 SERVICE_UNAVAILABLE with Retry-After: %s', async (_name, pool, query, prismaCode) => {
      const error = await prismaFailure(pool(), query);
      expect((error as { code?: string }).code).toBe(prismaCode);
      expect(isDatabaseUnavailable(error)).toBe(true);
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const { statusCode, headers, body } = run(error);
      // An expected condition: one short warning, no error with a stack.
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]).toEqual([expect.stringMatching(/^SERVICE_UNAVAILABLE: database unavailable \([^\n]+\)$/)]);
      expect(logError).not.toHaveBeenCalled();
      expect(statusCode).toBe(503);
      expect(headers['retry-after']).toBe('5');
      expect(body.error).toEqual({ code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable, try again shortly' });
      expect(JSON.stringify(body)).not.toMatch(/parley_secret_db|administrator|terminated|127\.0\.0\.1/);
    });

    it('answers 503 in OpenAI error format on /v1 routes', async () => {
      const error = await prismaFailure(new FailingPool(notAccepting()), modelQuery);
      const { statusCode, headers, body } = run(error, {}, '/v1/chat/completions');
      expect(statusCode).toBe(503);
      expect(headers['retry-after']).toBe('5');
      expect(body).toEqual({
        error: { message: 'The database is unavailable, try again shortly', type: 'server_error', param: null, code: 'service_unavailable' },
      });
    });

    it.each([
      ['a syntax error in a raw query (42601)', () => new FailingPool(pgError('42601', 'ERROR', 'syntax error at or near "SELEC"')), rawQuery, 500],
      ['a non-fatal 55000 (object not in prerequisite state)', () => new FailingPool(pgError('55000', 'ERROR', 'cannot do that now')), modelQuery, 500],
      ['a unique violation (23505)', () => new FailingPool(pgError('23505', 'ERROR', 'duplicate key value')), modelQuery, 409],
      ['an unexpected driver error', () => new FailingPool(new Error('something else broke')), modelQuery, 500],
    ])('keeps %s as it was', async (_name, pool, query, status) => {
      const error = await prismaFailure(pool(), query);
      expect(isDatabaseUnavailable(error)).toBe(false);
      expect(run(error).statusCode).toBe(status);
    });

    it('sets Retry-After on other 503s too (readiness, draining)', () => {
      const { statusCode, headers } = run(new ServiceUnavailableException());
      expect(statusCode).toBe(503);
      expect(headers['retry-after']).toBe('5');
    });
  });

  describe('on /v1 routes (the OpenAI-compatible gateway)', () => {
    it.each([
      [new AppException(ErrorCode.MODEL_NOT_FOUND, 'Model x is not in the catalog', 404), 404, 'invalid_request_error', 'model_not_found'],
      [new AppException(ErrorCode.UNAUTHORIZED, 'Authentication required', 401), 401, 'authentication_error', 'invalid_api_key'],
      [new AppException(ErrorCode.RATE_LIMITED, 'Too many requests', 429), 429, 'rate_limit_error', 'rate_limit_exceeded'],
      [new AppException(ErrorCode.PROVIDER_UNAVAILABLE, 'openai is unavailable', 502), 502, 'server_error', 'provider_unavailable'],
    ])('answers %p in OpenAI error format', (exception, status, type, code) => {
      const { statusCode, body } = run(exception, {}, '/v1/chat/completions');
      expect(statusCode).toBe(status);
      expect(body).toEqual({ error: { message: (exception as Error).message, type, param: null, code } });
    });

    it('names the first invalid field as `param`', () => {
      const exception = AppException.validation('Invalid request parameters', { fields: { temperature: ['temperature must not be greater than 2'] } });
      const { body } = run(exception, {}, '/v1/chat/completions');
      expect(body).toEqual({
        error: { message: 'Invalid request parameters: temperature: temperature must not be greater than 2', type: 'invalid_request_error', param: 'temperature', code: 'validation_error' },
      });
    });

    it('keeps the envelope on /api routes and on paths that merely start with v1', () => {
      expect(run(new NotFoundException(), {}, '/v1beta/models').body).toMatchObject({ success: false });
    });
  });
});
