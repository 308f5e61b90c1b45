import { checkStreamName, streamNameProblem } from './stream-names.js';

describe('streamNameProblem', () => {
  it('takes every kind of name the gateway takes', () => {
    for (const name of [
      'broadcast',
      'v2:alice',
      'v3:alice',
      'reports:6F1C1C52-2E55-4A52-9D1C-5B0D7C9A3F10',
      'temperature:sensor-1',
      'kafka:clicks',
      'kafka:clicks:page:1',
    ]) {
      expect(streamNameProblem(name)).toBeUndefined();
    }
  });

  it('names the stream and what is wrong with it', () => {
    expect(streamNameProblem('reprots:x')).toMatch(/^stream "reprots:x" is unknown/);
    expect(streamNameProblem('reports:not-a-uuid')).toMatch(/"reports:not-a-uuid" is malformed .*UUID/);
    expect(streamNameProblem('v3:a:b')).toMatch(/no ":"/);
    expect(streamNameProblem('v2:')).toMatch(/"v2:" is malformed/);
    expect(streamNameProblem('broadcast:x')).toMatch(/takes no parameter/);
    expect(streamNameProblem('temperature:a b')).toMatch(/malformed/);
    expect(streamNameProblem('kafka:')).toMatch(/needs a topic/);
    expect(streamNameProblem('v2:a\nb')).toMatch(/control characters/);
  });

  it('throws a TypeError with that message', () => {
    expect(() => checkStreamName('reprots:x')).toThrow(new TypeError(streamNameProblem('reprots:x')));
  });
});
