import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { ParsedParameter } from './stream-kind';

/**
 * Checks a stream name's parameter with the single route's own query or path DTO, so both accept
 * the same values (and transform them alike): `property` is the field the parameter stands for.
 */
export function parameterByDto<T extends object>(
  dto: ClassConstructor<T>,
  property: keyof T & string,
  parameter: string | undefined,
): ParsedParameter {
  if (parameter === undefined) {
    return { error: `it needs a ${property} after the colon` };
  }
  const instance = plainToInstance(dto, { [property]: parameter });
  const errors = validateSync(instance, { skipMissingProperties: false }).filter(
    (error) => error.property === property,
  );
  if (errors.length > 0) {
    return { error: Object.values(errors[0].constraints ?? {}).join(', ') || `invalid ${property}` };
  }
  return { parameter: String((instance as Record<string, unknown>)[property]) };
}

/** For kinds without a parameter (`broadcast`). */
export function noParameter(parameter: string | undefined): ParsedParameter {
  return parameter === undefined ? { parameter: '' } : { error: 'it takes no parameter' };
}
