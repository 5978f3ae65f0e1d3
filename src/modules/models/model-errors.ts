import { HttpStatus } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';

/** Status of an SDK error: openai/anthropic `.status`, @google/genai `.status`, ollama `.status_code`. */
export function upstreamStatus(error: unknown): number | undefined {
  const e = error as { status?: unknown; status_code?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.status_code === 'number' ? e.status_code : undefined;
  return status;
}

export function isAbort(error: unknown): boolean {
  const e = error as { name?: string; constructor?: { name?: string } };
  return e?.name === 'AbortError' || e?.constructor?.name === 'APIUserAbortError' || e?.name === 'APIUserAbortError';
}

function isTimeout(error: unknown): boolean {
  const e = error as { name?: string; code?: string; constructor?: { name?: string } };
  return /Timeout/i.test(e?.constructor?.name ?? '') || e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT' || e?.code === 'UND_ERR_HEADERS_TIMEOUT';
}

const CONTEXT_TOO_LONG = /context.{0,20}(length|window)|too many tokens|maximum.{0,30}tokens|prompt is too long|too long/i;

/** Worth another attempt (before the first token only): rate limits, server errors, lost connections. */
export function isRetryable(error: unknown): boolean {
  if (isAbort(error)) return false;
  const status = upstreamStatus(error);
  if (status === undefined) return true; // connection refused/reset, DNS, socket hang up
  return status === 429 || status >= 500;
}

/** An SDK error as our error envelope; the provider's message is kept only for client-side (4xx) causes. */
export function translateProviderError(error: unknown, provider: string): AppException {
  if (error instanceof AppException) return error;
  const status = upstreamStatus(error);
  const upstreamMessage = error instanceof Error ? error.message.slice(0, 500) : undefined;
  const details = { provider, ...(status ? { upstreamStatus: status } : {}) };
  if (isTimeout(error)) {
    return new AppException(ErrorCode.PROVIDER_TIMEOUT, `${provider} did not answer in time`, HttpStatus.GATEWAY_TIMEOUT, details);
  }
  if (status === 401 || status === 403) {
    return new AppException(ErrorCode.PROVIDER_AUTH_FAILED, `${provider} refused the API key`, HttpStatus.UNPROCESSABLE_ENTITY, details);
  }
  if (status === 429) {
    return new AppException(ErrorCode.PROVIDER_RATE_LIMITED, `${provider} is rate limiting requests; retry later`, HttpStatus.TOO_MANY_REQUESTS, details);
  }
  if (status === 404) {
    return new AppException(ErrorCode.MODEL_NOT_FOUND, `${provider} does not know this model`, HttpStatus.NOT_FOUND, { ...details, upstreamMessage });
  }
  if ((status === 400 || status === 413) && upstreamMessage && CONTEXT_TOO_LONG.test(upstreamMessage)) {
    return new AppException(ErrorCode.CONTEXT_TOO_LONG, 'The conversation is too long for this model', HttpStatus.UNPROCESSABLE_ENTITY, { ...details, upstreamMessage });
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return new AppException(ErrorCode.PROVIDER_ERROR, `${provider} rejected the request`, HttpStatus.BAD_GATEWAY, { ...details, upstreamMessage });
  }
  return new AppException(ErrorCode.PROVIDER_UNAVAILABLE, `${provider} is unavailable`, HttpStatus.BAD_GATEWAY, details);
}
