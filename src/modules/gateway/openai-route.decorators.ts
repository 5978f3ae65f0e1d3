import { applyDecorators, Body, HttpStatus, Type } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createValidationPipe } from '../../common/errors/validation';
import { OpenAIErrorDto } from './gateway.dto';

/** Documents each status as an answer in OpenAI's error format, as every /v1 route gives errors. */
export const ApiOpenAIErrors = (...statuses: HttpStatus[]) =>
  applyDecorators(...statuses.map((status) => ApiResponse({ status, description: "OpenAI's error format", type: OpenAIErrorDto })));

/**
 * An OpenAI request body, validated as `expectedType`. Unknown OpenAI parameters are dropped,
 * not refused: programs send many that Parley does not map. (Declare the parameter
 * `Readonly<…>` so the global pipe, which refuses unknown fields, leaves it to this one.)
 */
export const OpenAIBody = (expectedType: Type) => Body(createValidationPipe({ forbidUnknownFields: false, expectedType }));
