import { applyDecorators, HttpStatus, Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-codes';
import { ErrorEnvelopeDto, PaginationDto } from './envelope.dto';

interface EnvelopeOptions {
  status?: HttpStatus;
  description?: string;
  paginated?: boolean;
}

/** Documents a success response as seed 001's envelope around `model`. */
export function ApiEnvelope(model: Type<unknown>, options: EnvelopeOptions = {}) {
  const { status = HttpStatus.OK, description = 'Success', paginated = false } = options;
  return applyDecorators(
    ApiExtraModels(model, PaginationDto),
    ApiResponse({
      status,
      description,
      schema: {
        type: 'object',
        required: ['success', 'data', 'timestamp', 'requestId', ...(paginated ? ['pagination'] : [])],
        properties: {
          success: { type: 'boolean', enum: [true] },
          data: { $ref: getSchemaPath(model) },
          ...(paginated ? { pagination: { $ref: getSchemaPath(PaginationDto) } } : {}),
          timestamp: { type: 'string', format: 'date-time' },
          requestId: { type: 'string' },
        },
      },
    }),
  );
}

const ERROR_DESCRIPTIONS: Partial<Record<HttpStatus, string>> = {
  [HttpStatus.BAD_REQUEST]: 'VALIDATION_ERROR: invalid or unknown fields',
  [HttpStatus.UNAUTHORIZED]: 'UNAUTHORIZED: not signed in',
  [HttpStatus.FORBIDDEN]: 'FORBIDDEN',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.UNPROCESSABLE_ENTITY]: 'Valid format but a business rule refused it',
  [HttpStatus.TOO_MANY_REQUESTS]: 'RATE_LIMITED (see Retry-After)',
  [HttpStatus.BAD_GATEWAY]: 'PROVIDER_* : the model provider failed or refused the call',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
};

/** What each status's example shows: its most common real code and message. */
const ERROR_EXAMPLES: Partial<Record<number, { code: ErrorCode; message: string; details?: Record<string, unknown> }>> = {
  [HttpStatus.BAD_REQUEST]: { code: ErrorCode.VALIDATION_ERROR, message: 'Invalid request parameters', details: { fields: { title: ['title must be shorter than or equal to 200 characters'] } } },
  [HttpStatus.UNAUTHORIZED]: { code: ErrorCode.UNAUTHORIZED, message: 'Authentication required' },
  [HttpStatus.FORBIDDEN]: { code: ErrorCode.FORBIDDEN, message: 'Insufficient permissions' },
  [HttpStatus.NOT_FOUND]: { code: ErrorCode.NOT_FOUND, message: 'Resource not found' },
  [HttpStatus.CONFLICT]: { code: ErrorCode.CONFLICT, message: 'The resource is in a conflicting state' },
  [HttpStatus.UNPROCESSABLE_ENTITY]: { code: ErrorCode.UNPROCESSABLE, message: 'The request was understood but refused' },
  [HttpStatus.TOO_MANY_REQUESTS]: { code: ErrorCode.RATE_LIMITED, message: 'Too many requests' },
  [HttpStatus.INTERNAL_SERVER_ERROR]: { code: ErrorCode.INTERNAL_ERROR, message: 'An unexpected error occurred' },
  [HttpStatus.NOT_IMPLEMENTED]: { code: ErrorCode.NOT_IMPLEMENTED, message: 'Not implemented' },
  [HttpStatus.BAD_GATEWAY]: { code: ErrorCode.PROVIDER_ERROR, message: 'The model provider failed' },
  [HttpStatus.GATEWAY_TIMEOUT]: { code: ErrorCode.PROVIDER_TIMEOUT, message: 'The model provider did not answer in time' },
  [HttpStatus.SERVICE_UNAVAILABLE]: { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'Service unavailable' },
};

/** The error envelope as a media type, with an example of `status`'s real code (not the schema's first enum value). */
export function errorContent(
  status: number,
  error = ERROR_EXAMPLES[status] ?? { code: ErrorCode.INTERNAL_ERROR, message: 'An unexpected error occurred' },
): { 'application/json': { schema: { $ref: string }; example: unknown } } {
  return {
    'application/json': {
      schema: { $ref: getSchemaPath(ErrorEnvelopeDto) },
      example: { success: false, error, timestamp: '2024-01-15T10:30:00.000Z', requestId: 'req_7d3c0f6e-5a7b-4f43-9f57-6f1d2f3b9a10' },
    },
  };
}

/** Documents error responses with the error envelope, each with an example of its real code. */
export function ApiErrors(...statuses: HttpStatus[]) {
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto),
    ...statuses.map((status) => ApiResponse({ status, description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: errorContent(status) })),
  );
}
