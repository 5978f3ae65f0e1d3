import { ArgumentsHost, BadRequestException, NotFoundException } from '@nestjs/common';
import { loadConfig } from '../../config/app.config';
import { Prisma } from '../../infra/database/generated/client';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { AppException } from './app.exception';
import { ErrorCode } from './error-codes';

function run(exception: unknown, env: Record<string, string> = {}, path = '/api/things') {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'd'.repeat(64), ...env });
  const res = {
    headersSent: false,
    statusCode: 0,
    body: undefined as unknown,
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
  return res as { statusCode: number; body: { success: boolean; error: { code: string; message: string; details?: unknown }; requestId: string } };
}

const prismaError = (code: string) => new Prisma.PrismaClientKnownRequestError('db said no: secret detail', { code, clientVersion: '7.10.0' });

describe('AllExceptionsFilter', () => {
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
