import { ErrorBody } from '../http/envelope';
import { ErrorCode } from './error-codes';

/** OpenAI's error object: what `/v1` clients (the official SDKs) parse into typed errors. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  501: 'invalid_request_error',
};

/** OpenAI's own code where it has one for the same condition; otherwise ours, in its casing. */
const OPENAI_CODES: Partial<Record<string, string>> = {
  [ErrorCode.UNAUTHORIZED]: 'invalid_api_key',
  [ErrorCode.MODEL_NOT_FOUND]: 'model_not_found',
  [ErrorCode.RATE_LIMITED]: 'rate_limit_exceeded',
  [ErrorCode.PROVIDER_RATE_LIMITED]: 'rate_limit_exceeded',
  [ErrorCode.CONTEXT_TOO_LONG]: 'context_length_exceeded',
  [ErrorCode.CONTENT_REJECTED]: 'content_policy_violation',
};

/** Our error (status, code, message, details) in OpenAI's wire format, for the `/v1` routes. */
export function toOpenAIError(status: number, body: ErrorBody): OpenAIErrorBody {
  const fields = (body.details as { fields?: Record<string, string[]> } | undefined)?.fields;
  const param = fields ? Object.keys(fields)[0] ?? null : null;
  const message = fields && param ? `${body.message}: ${param}: ${fields[param].join('; ')}` : body.message;
  return {
    error: {
      message,
      type: TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
      param,
      code: OPENAI_CODES[body.code] ?? body.code.toLowerCase(),
    },
  };
}

/** Routes answered in OpenAI's format rather than seed 001's envelope. */
export const isOpenAIRoute = (path: string) => path === '/v1' || path.startsWith('/v1/');
