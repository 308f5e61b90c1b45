import { parse } from 'node:querystring';
import { redactAccessToken } from './redact';

describe(redactAccessToken.name, () => {
  const sut = redactAccessToken;
  it.each([
    ['/v2/sse?username=demo&access_token=eyJ.abc.def', '/v2/sse?username=demo&access_token=[REDACTED]'],
    ['/v2/sse?access_token=eyJ.abc.def&username=demo', '/v2/sse?access_token=[REDACTED]&username=demo'],
    ['/v2/sse?ACCESS_TOKEN=x', '/v2/sse?ACCESS_TOKEN=[REDACTED]'],
    ['/v2/sse?username=demo', '/v2/sse?username=demo'],
    ['/v2/sse', '/v2/sse'],
    ['/v2/sse?%61ccess_token=eyJ.abc.def', '/v2/sse?%61ccess_token=[REDACTED]'],
    ['/v2/sse?access%5Ftoken=eyJ.abc.def&username=a', '/v2/sse?access%5Ftoken=[REDACTED]&username=a'],
    [
      '/v2/sse?%61%63%63%65%73%73%5f%74%6f%6b%65%6e=eyJ',
      '/v2/sse?%61%63%63%65%73%73%5f%74%6f%6b%65%6e=[REDACTED]',
    ],
    ['/v2/sse?username=a#x&access_token=eyJ', '/v2/sse?username=a#x&access_token=[REDACTED]'],
    ['/v2/sse?access_token', '/v2/sse?access_token=[REDACTED]'],
    ['/v2/sse?%E0%A4%A=1&access_token=eyJ', '/v2/sse?%E0%A4%A=1&access_token=[REDACTED]'],
  ])('%s → %s', (url, logged) => {
    expect(sut(url)).toBe(logged);
  });

  it.each([
    '%61ccess_token=SECRET',
    'access%5Ftoken=SECRET',
    'a=1&access_token=SECRET&b=2',
    'access_token=SECRET',
  ])('hides whatever Express’s query parser takes as the token: %s', (query) => {
    expect(parse(query).access_token).toBe('SECRET');
    expect(sut(`/v2/sse?${query}`)).not.toContain('SECRET');
  });
});
