import { renewalLead, tokenExpiresAt } from './token-expiry.js';

const jwt = (payload: object) =>
  ['{"alg":"HS256"}', JSON.stringify(payload)]
    .map((part) => Buffer.from(part).toString('base64url'))
    .join('.') + '.signature';

describe('tokenExpiresAt', () => {
  it('reads exp (seconds) of a JWT as epoch ms, whatever its padding and URL-safe characters', () => {
    expect(tokenExpiresAt(jwt({ sub: 'ü?>>', exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
  });

  it('is undefined for what is not a JWT with a numeric exp', () => {
    expect(tokenExpiresAt('opaque-token')).toBeUndefined();
    expect(tokenExpiresAt(jwt({ sub: 'a' }))).toBeUndefined();
    expect(tokenExpiresAt(jwt({ exp: '1800000000' }))).toBeUndefined();
    expect(tokenExpiresAt('a.!!!.c')).toBeUndefined();
  });
});

describe('renewalLead', () => {
  it('renews a fifth of the lifetime early, between a second and a minute', () => {
    expect(renewalLead(10_000)).toBe(2_000);
    expect(renewalLead(2_000)).toBe(1_000);
    expect(renewalLead(3_600_000)).toBe(60_000);
  });
});
