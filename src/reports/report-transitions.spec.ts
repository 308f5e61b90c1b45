import { REPORT_STATUSES, ReportStatus } from './report';
import { allowedSources, nextStatuses } from './report-transitions';

describe('report transitions', () => {
  const legal = [
    'pending→queued',
    'pending→canceled',
    'queued→processing',
    'queued→canceled',
    'processing→completed',
    'processing→failed',
    'failed→pending',
    'canceled→pending',
  ];
  const all = REPORT_STATUSES.flatMap((from) => REPORT_STATUSES.map((to) => [from, to] as const));

  it.each(all)('%s → %s is legal only if SPEC 2.4 lists it', (from: ReportStatus, to: ReportStatus) => {
    expect(allowedSources(to).includes(from)).toBe(legal.includes(`${from}→${to}`));
  });

  it('lists where a report may go next', () => {
    expect(nextStatuses('pending').sort()).toEqual(['canceled', 'queued']);
    expect(nextStatuses('completed')).toEqual([]);
  });
});
