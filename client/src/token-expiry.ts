/**
 * When a JWT expires (epoch ms, from its `exp` claim), or undefined for a token that is not a JWT
 * or has no `exp`. The signature is the server's business: this only decides when to renew.
 */
export function tokenExpiresAt(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) {
    return undefined;
  }
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long before expiry to open the connection of the next token: a fifth of the token's
 * lifetime, between one second and a minute, so a 10-second token renews 2 s early and an hour's
 * one a minute early, each leaving time for a retry.
 */
export function renewalLead(lifetimeMs: number): number {
  return Math.min(60_000, Math.max(1_000, lifetimeMs / 5));
}
