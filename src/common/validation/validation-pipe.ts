import { ValidationPipe } from '@nestjs/common';

/** The pipe every route's DTOs go through (APP_PIPE): unknown fields are refused, values converted. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validateCustomDecorators: true,
    // What the pipe sets anyway. Given here, the pipe's per-call `{ ...options, validationError }`
    // overrides a key instead of adding one, which made a V8 hidden class per request (see
    // `no-restricted-syntax` in eslint.config.mjs).
    validationError: { target: false },
  });
}
