import { decodeReportEvent, encodeReportEvent, parseReportRecord } from './report-event.codec';
import { ReportEvent } from './report';

describe(decodeReportEvent.name, () => {
  const sut = decodeReportEvent;
  const event: ReportEvent = {
    id: '42',
    userId: '6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10',
    reportId: '0b6d3a1e-8d38-4c55-9a53-0d4c5c1a2b3c',
    status: 'queued',
    createdAt: '2026-12-03T17:00:00.000Z',
  };

  it('reads what the relay writes, keyed by its user', () => {
    expect(sut(encodeReportEvent(event), event.userId)).toEqual(event);
    expect(parseReportRecord(encodeReportEvent(event), event.userId)).toEqual({ key: event.userId });
  });

  it.each([
    ['not json', 'value is not JSON'],
    ['[1]', 'value is not a JSON object'],
    ['null', 'value is not a JSON object'],
    [JSON.stringify({ ...event, id: 'x' }), 'id is not'],
    [JSON.stringify({ ...event, id: 42 }), 'id is not'],
    [JSON.stringify({ ...event, id: '0' }), 'id is not'],
    [JSON.stringify({ ...event, id: '9223372036854775808' }), 'id is not'],
    [JSON.stringify({ ...event, userId: 'bob' }), 'userId is not a UUID'],
    [JSON.stringify({ ...event, reportId: 7 }), 'reportId is not a UUID'],
    [JSON.stringify({ ...event, status: 'exploded' }), 'status is not one of'],
    [JSON.stringify({ ...event, createdAt: 1 }), 'createdAt is not a string'],
  ])('gives the reason for a record that is not an event: %s', (value, reason) => {
    const decoded = sut(value, event.userId);
    expect(decoded).toEqual({ error: expect.stringContaining(reason) as unknown });
    expect(parseReportRecord(value, event.userId)).toEqual(decoded);
  });

  it('reads a record without a key', () => {
    expect(sut(encodeReportEvent(event))).toEqual(event);
    expect(sut(encodeReportEvent(event), null)).toEqual(event);
  });

  it("refuses an event whose user is not the record's key", () => {
    expect(sut(encodeReportEvent(event), 'c0ffee00-0000-4000-8000-000000000000')).toEqual({
      error: expect.stringContaining("is not the event's userId") as unknown,
    });
  });
});
