import {
  encodeComment,
  encodedEventBytes,
  encodeEvent,
  encodeId,
  encodeRetry,
  toHttpChunk,
} from './sse-framing';

describe('sse-framing', () => {
  describe(encodeEvent.name, () => {
    it('writes id, optional event type and data, ending with an empty line', () => {
      expect(encodeEvent({ id: '7', data: 'hello' }).toString()).toBe('id: 7\ndata: hello\n\n');
      expect(encodeEvent({ id: '7', data: 'x', type: 'report_status_update' }).toString()).toBe(
        'event: report_status_update\nid: 7\ndata: x\n\n',
      );
    });

    it.each([
      ['LF', 'a\nb'],
      ['CRLF', 'a\r\nb'],
      ['CR', 'a\rb'],
    ])('splits %s line breaks into data lines, so no line of the value can become a field', (_name, data) => {
      expect(encodeEvent({ id: '1', data: `${data}\nid: 9` }).toString()).toBe(
        'id: 1\ndata: a\ndata: b\ndata: id: 9\n\n',
      );
    });

    it('keeps empty lines of the value as empty data lines', () => {
      expect(encodeEvent({ id: '1', data: '\n\n' }).toString()).toBe('id: 1\ndata: \ndata: \ndata: \n\n');
    });

    it('encodes UTF-8', () => {
      expect(encodeEvent({ id: '1', data: '🤠' }).includes(Buffer.from('🤠', 'utf8'))).toBe(true);
    });

    it.each(['1\n2', '1\r', '\0'])('refuses an id that would break the frame: %j', (id) => {
      expect(() => encodeEvent({ id, data: 'x' })).toThrow(/id must not contain/);
    });

    it('refuses an event type that would break the frame', () => {
      expect(() => encodeEvent({ id: '1', data: 'x', type: 'a\nb' })).toThrow(/event type must not contain/);
    });
  });

  it('writes comments line by line', () => {
    expect(encodeComment('ping').toString()).toBe(': ping\n\n');
    expect(encodeComment('a\nb').toString()).toBe(': a\n: b\n\n');
  });

  it.each([
    ['plain', 'hello', undefined],
    ['line breaks of every kind', 'a\nb\r\nc\rd\n\n', undefined],
    ['only newlines', '\n'.repeat(1000), undefined],
    ['UTF-8 and an event type', '🤠 é\n✓', 'report_status_update'],
    ['empty', '', undefined],
  ])('counts the bytes of an event as a chunk without encoding it: %s', (_name, data, type) => {
    for (const id of ['7', 'mwwj113o-123456', '42.17.9']) {
      expect(encodedEventBytes(data, id.length, type)).toBe(
        toHttpChunk(encodeEvent({ id, data, type })).length,
      );
    }
  });

  it('writes the retry hint, with the stream position as its id when given, and refuses nonsense', () => {
    expect(encodeRetry(2000).toString()).toBe('retry: 2000\n\n');
    expect(encodeRetry(2000, 'mwwj113o-5').toString()).toBe('retry: 2000\nid: mwwj113o-5\n\n');
    expect(encodeId('42').toString()).toBe('id: 42\n\n');
    expect(() => encodeRetry(2000, '1\ndata: x')).toThrow();
    expect(() => encodeRetry(-1)).toThrow();
    expect(() => encodeRetry(1.5)).toThrow();
  });

  it('wraps a payload as one HTTP/1.1 chunk', () => {
    const payload = Buffer.from('x'.repeat(300));
    expect(toHttpChunk(payload).toString()).toBe(`12c\r\n${'x'.repeat(300)}\r\n`);
  });
});
