import { ValidateIf } from 'class-validator';

/**
 * Like @IsOptional(), but only an absent field skips validation: `null` is validated
 * (and so rejected by @IsString() and friends) instead of reaching the service.
 */
export const IsOptionalNonNull = () => ValidateIf((_object, value) => value !== undefined);

/** The fields of a validated DTO that the client actually sent (class fields default to undefined). */
export function definedFields<T extends object>(dto: T): Partial<T> {
  return Object.fromEntries(Object.entries(dto).filter(([, value]) => value !== undefined)) as Partial<T>;
}
