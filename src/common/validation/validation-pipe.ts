import { ValidationPipe } from '@nestjs/common';
import { cacheValidationMetadataLookups } from './validation-metadata-cache';

/** The pipe every route's DTOs go through (APP_PIPE): unknown fields are refused, values converted. */
export function createValidationPipe(): ValidationPipe {
  cacheValidationMetadataLookups();
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validateCustomDecorators: true,
  });
}
