import { applyDecorators, HttpStatus, Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
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
  [HttpStatus.SERVICE_UNAVAILABLE]: 'SERVICE_UNAVAILABLE',
};

/** Documents error responses with the error envelope. */
export function ApiErrors(...statuses: HttpStatus[]) {
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto),
    ...statuses.map((status) =>
      ApiResponse({ status, description: ERROR_DESCRIPTIONS[status] ?? 'Error', type: ErrorEnvelopeDto }),
    ),
  );
}
