import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../../config/app.config';
import { isDatabaseUnavailable } from '../../infra/database/database-errors';
import { Prisma } from '../../infra/database/generated/client';
import { ErrorBody, errorEnvelope } from '../http/envelope';
import { requestIdOf } from '../http/request-id';
import { AppException } from './app.exception';
import { CODE_BY_STATUS, ErrorCode } from './error-codes';
import { isOpenAIRoute, toOpenAIError } from './openai-error';

interface Mapped {
  status: number;
  body: ErrorBody;
}

/** Prisma's request errors that are the client's doing, by Prisma code. */
const PRISMA_CODES: Record<string, Mapped> = {
  P2000: { status: 400, body: { code: ErrorCode.VALIDATION_ERROR, message: 'A value is too long' } },
  P2002: { status: 409, body: { code: ErrorCode.CONFLICT, message: 'A resource with these values already exists' } },
  P2003: { status: 409, body: { code: ErrorCode.CONFLICT, message: 'A related resource does not exist' } },
  P2025: { status: 404, body: { code: ErrorCode.NOT_FOUND, message: 'Resource not found' } },
};

const UNAVAILABLE: Mapped = {
  status: 503,
  body: { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The database is unavailable, try again shortly' },
};

/** Seconds a client is told to wait on any 503 (database outage, readiness, draining). */
export const RETRY_AFTER_SECONDS = 5;

/**
 * The one place an error becomes a response: seed 001's error envelope with the right
 * status. Unexpected errors are logged in full and reach the client as a generic 500.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly config: AppConfig) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const unavailable = isDatabaseUnavailable(exception);
    const { status, body } = unavailable ? UNAVAILABLE : this.map(exception);

    if (status === HttpStatus.SERVICE_UNAVAILABLE) {
      // Expected during an outage or a drain: one short line per request, no stack.
      const reason = unavailable ? `database unavailable (${this.describe(exception).split('\n').pop()})` : body.message;
      this.logger.warn(`${body.code}: ${reason}`);
    } else if (status >= 500) {
      this.logger.error({ err: exception, status }, `${body.code}: ${this.describe(exception)}`);
      // pino-http logs `res.err` on the request:end line.
      if (exception instanceof Error) (res as Response & { err?: Error }).err = exception;
    }
    if (status === HttpStatus.SERVICE_UNAVAILABLE && !res.headersSent && !res.getHeader('Retry-After')) {
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    }

    // The /v1 gateway speaks OpenAI's format, so OpenAI's SDKs raise their typed errors.
    const openAI = isOpenAIRoute(req.path);
    if (res.headersSent) {
      // A stream has started: the error goes out as its last frame, never as a second response.
      if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream') && !res.writableEnded) {
        res.write(openAI ? `data: ${JSON.stringify(toOpenAIError(status, body))}\n\n` : `event: error\ndata: ${JSON.stringify(body)}\n\n`);
      }
      res.end();
      return;
    }
    res.status(status).json(openAI ? toOpenAIError(status, body) : errorEnvelope(body, requestIdOf(req)));
  }

  private map(exception: unknown): Mapped {
    if (exception instanceof AppException) {
      return { status: exception.getStatus(), body: { code: exception.code, message: exception.message, details: exception.details } };
    }
    if (exception instanceof HttpException) return this.fromHttpException(exception);
    if (exception instanceof Prisma.PrismaClientKnownRequestError) return PRISMA_CODES[exception.code] ?? this.internal(exception);
    return this.internal(exception);
  }

  private fromHttpException(exception: HttpException): Mapped {
    const status = exception.getStatus();
    // The Express adapter wraps body-parser's errors; their text names parser internals.
    const parserError = (exception.cause as { type?: string } | undefined)?.type;
    if (parserError === 'entity.parse.failed') {
      return { status, body: { code: ErrorCode.VALIDATION_ERROR, message: 'Malformed JSON in request body' } };
    }
    if (parserError === 'entity.too.deep') {
      return { status, body: { code: ErrorCode.VALIDATION_ERROR, message: exception.message, details: { fields: { body: [exception.message] } } } };
    }
    const response = exception.getResponse();
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.BAD_REQUEST);
    // Terminus reports which checks failed in its response: useful, and free of secrets.
    const details = typeof response === 'object' && response && 'info' in response ? (response as Record<string, unknown>) : undefined;
    const message =
      status === HttpStatus.NOT_FOUND && /^Cannot /.test(exception.message) ? 'Route not found' : exception.message;
    return { status, body: { code, message, ...(details ? { details } : {}) } };
  }

  private internal(exception: unknown): Mapped {
    const body: ErrorBody = { code: ErrorCode.INTERNAL_ERROR, message: 'An unexpected error occurred' };
    // Outside production the cause helps a developer; production never shows internals.
    if (!this.config.isProduction) body.details = { cause: this.describe(exception) };
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body };
  }

  private describe(exception: unknown): string {
    return exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception);
  }
}
