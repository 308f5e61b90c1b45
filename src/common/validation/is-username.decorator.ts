import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

export const MAX_USERNAME_LENGTH = 128;

/** A user name in a query string: one non-empty string without control characters. */
export const IsUsername = (): PropertyDecorator =>
  applyDecorators(
    ApiProperty({ description: 'Whose stream', example: 'demo', maxLength: MAX_USERNAME_LENGTH }),
    IsString({ message: '$property must be a single string' }),
    IsNotEmpty(),
    MaxLength(MAX_USERNAME_LENGTH),
    Matches(/^\P{Cc}*$/u, { message: '$property must not contain control characters' }),
  );
