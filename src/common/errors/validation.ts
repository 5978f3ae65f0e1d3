import { ArgumentMetadata, Type, ValidationError, ValidationPipe } from '@nestjs/common';
import { findUnsafeText } from '../http/unsafe-text';
import { AppException } from './app.exception';

/** Flattens nested class-validator errors into { "settings.defaultTemperature": ["…"] }. */
export function fieldErrors(errors: ValidationError[], parent = ''): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) out[path] = Object.values(error.constraints);
    Object.assign(out, fieldErrors(error.children ?? [], path));
  }
  return out;
}

/** What a client sends; custom decorators (the signed-in user) are ours. */
const CLIENT_VALUES = new Set<ArgumentMetadata['type']>(['body', 'query', 'param']);

/**
 * Validation that first refuses text no field may carry (NUL, lone surrogates) anywhere in
 * a body, query or path parameter, naming the field: such text would fail in PostgreSQL or
 * make a validator library throw, and a client's bytes must never turn into a 500.
 */
class AppValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (CLIENT_VALUES.has(metadata.type)) {
      const field = findUnsafeText(value, metadata.data);
      if (field !== undefined) {
        throw AppException.validation('Invalid request parameters', {
          fields: { [field || metadata.type]: ['must not contain NUL characters or unpaired UTF-16 surrogates'] },
        });
      }
    }
    return super.transform(value, metadata);
  }
}

/**
 * Global validation: unknown fields and wrong types are rejected (no implicit type
 * coercion of bodies; query DTOs convert explicitly with @Type). The /v1 gateway drops
 * unknown fields instead, as OpenAI clients send parameters Parley does not map.
 */
export function createValidationPipe(options: { forbidUnknownFields?: boolean; expectedType?: Type<unknown> } = {}): ValidationPipe {
  return new AppValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: options.forbidUnknownFields ?? true,
    expectedType: options.expectedType,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      AppException.validation('Invalid request parameters', { fields: fieldErrors(errors) }),
  });
}
