import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORT_STATUSES, ReportStatus } from './report';
import {
  allowedSources,
  describeTransitions,
  nextStatuses,
  REPORT_TRANSITIONS,
} from './report-status.machine';

/** The product's eight legal moves, written out independently of the machine under test. */
const LEGAL = [
  'pending→queued',
  'pending→canceled',
  'queued→processing',
  'queued→canceled',
  'processing→completed',
  'processing→failed',
  'failed→pending',
  'canceled→pending',
];
const ALL_PAIRS = REPORT_STATUSES.flatMap((from) => REPORT_STATUSES.map((to) => [from, to] as const));

describe('report status machine', () => {
  it.each(ALL_PAIRS)(
    '%s → %s is legal only if the product lists it',
    (from: ReportStatus, to: ReportStatus) => {
      const legal = LEGAL.includes(`${from}→${to}`);
      expect(REPORT_TRANSITIONS[from].includes(to)).toBe(legal);
      expect(allowedSources(to).includes(from)).toBe(legal);
    },
  );

  it('lists where a report may go next', () => {
    expect([...nextStatuses('pending')].sort()).toEqual(['canceled', 'queued']);
    expect(nextStatuses('completed')).toEqual([]);
  });

  it('describes itself in one line', () => {
    expect(describeTransitions()).toBe(
      'pending→queued|canceled, queued→processing|canceled, processing→completed|failed, failed→pending, canceled→pending',
    );
  });

  // The README states the table for readers; it must say what the service enforces.
  it('is what the README says', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const line = /Legal: ([^.]+)\./.exec(readme);
    expect(line).not.toBeNull();
    const stated = line![1].split(',').map((move) => move.trim());
    const machine = REPORT_STATUSES.flatMap((from) => REPORT_TRANSITIONS[from].map((to) => `${from}→${to}`));
    expect(stated.sort()).toEqual(machine.sort());
  });
});
