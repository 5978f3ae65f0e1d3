import { Type, ValidationError, ValidationPipe } from '@nestjs/common';
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

/**
 * Global validation: unknown fields and wrong types are rejected (no implicit type
 * coercion of bodies; query DTOs convert explicitly with @Type). The /v1 gateway drops
 * unknown fields instead, as OpenAI clients send parameters Parley does not map.
 */
export function createValidationPipe(options: { forbidUnknownFields?: boolean; expectedType?: Type<unknown> } = {}): ValidationPipe {
  return new ValidationPipe({
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
