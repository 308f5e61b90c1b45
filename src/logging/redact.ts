/** Request URLs as logged: an access_token in the query string is replaced, so tokens never reach logs. */
export const redactAccessToken = (url: string): string =>
  url.replace(/([?&]access_token=)[^&#]*/gi, '$1[REDACTED]');
