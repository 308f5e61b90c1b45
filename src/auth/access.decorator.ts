import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { AccessGuard } from './access.guard';
import { ACCESS_RULE, AccessRule } from './access-rule';

/** Says who may use a route when AUTH_MODE=jwt, enforces it, and documents it in OpenAPI. */
export const Access = (rule: AccessRule): MethodDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, rule),
    UseGuards(AccessGuard),
    ApiBearerAuth(),
    ApiCookieAuth(),
    ApiUnauthorizedResponse({ description: 'AUTH_MODE=jwt: no token, or an invalid or expired one' }),
    ApiForbiddenResponse({ description: forbiddenWhen(rule) }),
  );

function forbiddenWhen(rule: AccessRule): string {
  switch (rule.kind) {
    case 'subscriber':
      return 'AUTH_MODE=jwt: a valid token for another user';
    case 'scoped-subscriber':
      return `AUTH_MODE=jwt: a valid token without the ${rule.scopePrefix}{${rule.scopeParam}} scope`;
    case 'publisher':
    case 'owner-or-publisher':
      return 'AUTH_MODE=jwt: a valid token without the publish scope (or, for a user’s own reports, not the owner’s)';
  }
}
