import { unescape } from 'node:querystring';

const TOKEN_PARAMETER = 'access_token';

/**
 * Request URLs as logged: the value of every query parameter whose name decodes to access_token is
 * replaced, so tokens never reach logs. Names are decoded as Express's query parser decodes them
 * (`%61ccess_token` and `access%5Ftoken` are access_token too), and matched ignoring case and on both
 * sides of a `#`, which hides a little more than the parser would take as a token, never less.
 */
export const redactAccessToken = (url: string): string => {
  const query = url.indexOf('?');
  if (query === -1) {
    return url;
  }
  const parts = url.slice(query + 1).split(/([&#])/);
  for (let i = 0; i < parts.length; i += 2) {
    const separator = parts[i].indexOf('=');
    const name = separator === -1 ? parts[i] : parts[i].slice(0, separator);
    if (isTokenName(name)) {
      parts[i] = `${name}=[REDACTED]`;
    }
  }
  return url.slice(0, query + 1) + parts.join('');
};

function isTokenName(name: string): boolean {
  return (
    name.length >= TOKEN_PARAMETER.length &&
    unescape(name.replace(/\+/g, ' ')).toLowerCase() === TOKEN_PARAMETER
  );
}
