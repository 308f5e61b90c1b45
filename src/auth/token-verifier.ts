import { createRemoteJWKSet, errors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import { AppConfig } from '../config/app-config';

/** A token that passed verification: whose it is, what it may do, until when. */
export interface VerifiedToken {
  readonly subject: string;
  readonly scopes: ReadonlySet<string>;
  /** Epoch ms; undefined for a token without `exp`. */
  readonly expiresAt?: number;
}

/** Why a token was refused; the message goes to the client (401), never the token itself. */
export class InvalidTokenError extends Error {}

/**
 * Verifies JWTs with jose: HS256 with JWT_SECRET, or RS256/ES256 with keys from JWT_JWKS_URL
 * (fetched on first use and cached by jose, refetched when a token names an unknown key). Only
 * those algorithms are accepted, so `alg: none` and algorithm confusion are refused.
 */
export class TokenVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly config: AppConfig) {
    if (config.JWT_SECRET) {
      this.key = new TextEncoder().encode(config.JWT_SECRET);
      this.algorithms = ['HS256'];
    } else if (config.JWT_JWKS_URL) {
      this.key = createRemoteJWKSet(new URL(config.JWT_JWKS_URL));
      this.algorithms = ['RS256', 'ES256'];
    } else {
      throw new Error('AUTH_MODE=jwt needs JWT_SECRET or JWT_JWKS_URL'); // loadConfig says so first
    }
  }

  async verify(token: string): Promise<VerifiedToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as Uint8Array, {
        algorithms: this.algorithms,
        issuer: this.config.JWT_ISSUER,
        audience: this.config.JWT_AUDIENCE,
        requiredClaims: this.config.JWT_REQUIRE_EXP ? ['exp'] : [],
      }));
    } catch (error) {
      throw new InvalidTokenError(describe(error));
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
      throw new InvalidTokenError('the token names no subject (sub)');
    }
    return {
      subject: payload.sub,
      scopes: scopesOf(payload),
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  }
}

/** `scope` as a space-separated string (RFC 8693), or `scope`/`scp` as an array. */
function scopesOf(payload: JWTPayload): Set<string> {
  const claim = payload.scope ?? payload.scp;
  if (typeof claim === 'string') {
    return new Set(claim.split(' ').filter(Boolean));
  }
  return new Set(
    Array.isArray(claim) ? claim.filter((scope): scope is string => typeof scope === 'string') : [],
  );
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) {
    return 'the token has expired';
  }
  if (
    error instanceof errors.JWTClaimValidationFailed &&
    error.claim === 'exp' &&
    error.reason === 'missing'
  ) {
    return 'the token has no expiry (exp), which this server requires (JWT_REQUIRE_EXP)';
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `the token is not valid: ${error.claim} ${error.reason === 'check_failed' ? 'check failed' : error.reason}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return 'the token is signed with an algorithm this server does not accept';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'the token signature does not verify';
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return 'no key of the key set matches the token';
  }
  if (error instanceof errors.JOSEError) {
    return 'the token is malformed';
  }
  return 'the token could not be verified';
}
