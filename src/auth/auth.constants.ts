/** Injection token of the TokenVerifier (undefined when AUTH_MODE=off). */
export const TOKEN_VERIFIER = Symbol('TOKEN_VERIFIER');
