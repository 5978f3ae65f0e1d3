import { SetMetadata } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes';

export interface PaginationMeta {
  /** Opaque cursor for the next page; null on the last page. */
  cursor: string | null;
  limit: number;
  hasMore: boolean;
  totalCount?: number;
}

/** Returned by list handlers: the interceptor puts `pagination` beside `data`. */
export class Paginated<T> {
  constructor(
    readonly data: T,
    readonly pagination: PaginationMeta,
  ) {}
}

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  pagination?: PaginationMeta;
  timestamp: string;
  requestId: string;
}

export interface ErrorBody {
  code: ErrorCode | string;
  message: string;
  details?: Record<string, unknown>;
}

export interface ErrorEnvelope {
  success: false;
  error: ErrorBody;
  timestamp: string;
  requestId: string;
}

export const RAW_RESPONSE = 'parley:raw-response';
/** Opts a handler out of the envelope (SSE streams, the OpenAI-compatible gateway). */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

export function successEnvelope<T>(data: T, requestId: string, pagination?: PaginationMeta): SuccessEnvelope<T> {
  return {
    success: true,
    data,
    ...(pagination ? { pagination } : {}),
    timestamp: new Date().toISOString(),
    requestId,
  };
}

export function errorEnvelope(error: ErrorBody, requestId: string): ErrorEnvelope {
  return { success: false, error, timestamp: new Date().toISOString(), requestId };
}
