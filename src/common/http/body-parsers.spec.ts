import { bodyKindOf } from './body-parsers';

describe(bodyKindOf.name, () => {
  const sut = bodyKindOf;
  it.each([
    ['application/json', 'json'],
    ['Application/JSON; charset=utf-8', 'json'],
    ['text/plain', 'text'],
    ['text/plain;charset=UTF-8', 'text'],
    ['TEXT/CSV', 'text'],
    ['application/x-www-form-urlencoded', 'text'],
    [' text/markdown ; q=1', 'text'],
  ])('%s is %s', (contentType, kind) => {
    expect(sut(contentType)).toBe(kind);
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
    expect(sut(contentType)).toBeNull();
  });
});
