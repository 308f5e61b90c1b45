import { redactAccessToken } from './redact';

describe(redactAccessToken.name, () => {
  it.each([
    ['/v2/sse?username=demo&access_token=eyJ.abc.def', '/v2/sse?username=demo&access_token=[REDACTED]'],
    ['/v2/sse?access_token=eyJ.abc.def&username=demo', '/v2/sse?access_token=[REDACTED]&username=demo'],
    ['/v2/sse?ACCESS_TOKEN=x', '/v2/sse?ACCESS_TOKEN=[REDACTED]'],
    ['/v2/sse?username=demo', '/v2/sse?username=demo'],
  ])('%s → %s', (url, logged) => {
    expect(redactAccessToken(url)).toBe(logged);
  });
});
