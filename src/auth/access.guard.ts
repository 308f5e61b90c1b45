import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { accessRefusal } from './access-check';
import { ACCESS_RULE, AccessRule } from './access-rule';
import { TOKEN_VERIFIER } from './auth.constants';
import { InvalidTokenError, TokenVerifier, VerifiedToken } from './token-verifier';

/**
 * What the guard leaves on the request, once the token is verified (whether or not it gives the
 * access): the SSE layer ends a stream when its token expires, and logs name its subject.
 */
export interface AuthenticatedRequest extends Request {
  auth?: VerifiedToken;
}

const ACCESS_TOKEN = 'access_token';

/** Methods that only read; every other method, and every publishing route, changes state. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type TokenSource = 'header' | 'query' | 'cookie';

/**
 * Enforces a route's @Access() rule when AUTH_MODE=jwt, before pipes and before any stream byte:
 * 401 without a valid token, 403 with a valid token that does not give this access.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier | undefined,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.config.AUTH_MODE !== 'jwt' || !this.verifier) {
      return true;
    }
    const rule = this.reflector.get<AccessRule | undefined>(ACCESS_RULE, context.getHandler());
    if (!rule) {
      return true;
    }
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const { token, source } = tokenOf(request);
    if (token === undefined) {
      throw new UnauthorizedException(
        'A token is required: Authorization: Bearer <token>, an access_token query parameter (streams), or an access_token cookie',
      );
    }
    let verified: VerifiedToken;
    try {
      verified = await this.verifier.verify(token);
    } catch (error) {
      throw new UnauthorizedException(error instanceof InvalidTokenError ? error.message : 'invalid token');
    }
    // Set before the checks below: the line of a refused request names whose token it was.
    request.auth = verified;
    if (source === 'cookie') {
      this.refuseCrossSiteCookie(rule, request);
    }
    this.authorize(rule, verified, request);
    return true;
  }

  /**
   * A browser sends the cookie with requests that other sites' pages make too. It may open streams
   * (EventSource cannot send headers) and read, but it changes state only for a page of this service's
   * own origin or of TRUSTED_ORIGINS; anything else needs the token in the Authorization header.
   */
  private refuseCrossSiteCookie(rule: AccessRule, request: Request): void {
    if ((rule.kind !== 'publisher' && SAFE_METHODS.has(request.method)) || this.trustedOrigin(request)) {
      return;
    }
    const origin = request.headers.origin;
    throw new ForbiddenException(
      `The access_token cookie does not authorise ${request.method} ${request.path} from ${typeof origin === 'string' ? `origin ${origin}` : 'a request without an Origin header'}: send the token in the Authorization header`,
    );
  }

  private trustedOrigin(request: Request): boolean {
    const origin = request.headers.origin;
    if (typeof origin !== 'string') {
      // No Origin: browsers still say where a request comes from, and only they send the cookie.
      return request.headers['sec-fetch-site'] === 'same-origin';
    }
    if (this.config.TRUSTED_ORIGINS?.includes(origin.toLowerCase().replace(/\/$/, ''))) {
      return true;
    }
    try {
      return new URL(origin).host === request.headers.host?.toLowerCase();
    } catch {
      return false; // "null" (sandboxed pages, redirects) and anything unparsable
    }
  }

  private authorize(rule: AccessRule, token: VerifiedToken, request: Request): void {
    const refusal = accessRefusal(rule, token, (name) =>
      rule.kind === 'scoped-subscriber' ? request.params[name] : request.query[name],
    );
    if (refusal !== undefined) {
      throw new ForbiddenException(refusal);
    }
  }
}

function tokenOf(request: Request): { token?: string; source?: TokenSource } {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return { token: match?.[1], source: 'header' };
  }
  const query: unknown = request.query[ACCESS_TOKEN];
  if (typeof query === 'string' && query.length > 0) {
    return { token: query, source: 'query' };
  }
  return { token: cookieOf(request.headers.cookie, ACCESS_TOKEN), source: 'cookie' };
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) {
      const value = part.slice(separator + 1).trim();
      try {
        return value.length > 0 ? decodeURIComponent(value) : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
