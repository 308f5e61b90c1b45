import { ValidationPipe } from '@nestjs/common';

/** The pipe every route's DTOs go through (APP_PIPE): unknown fields are refused, values converted. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validateCustomDecorators: true,
  });
}
