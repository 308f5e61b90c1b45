import { bodyKindOf } from './body-parsers';

describe(bodyKindOf.name, () => {
  it.each([
    ['application/json', 'json'],
    ['Application/JSON; charset=utf-8', 'json'],
    ['text/plain', 'text'],
    ['text/plain;charset=UTF-8', 'text'],
    ['TEXT/CSV', 'text'],
    ['application/x-www-form-urlencoded', 'text'],
    [' text/markdown ; q=1', 'text'],
  ])('%s is %s', (contentType, kind) => {
    expect(bodyKindOf(contentType)).toBe(kind);
  });

  it.each([
    undefined,
    '',
    'text/',
    'text',
    'application/xml',
    'multipart/form-data; boundary=x',
    'text/pl ain',
  ])('%s is not read', (contentType) => {
    expect(bodyKindOf(contentType)).toBeNull();
  });
});
