import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { BusRecord } from '../bus/message-bus.interface';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { REPORT_UPDATES_TOPIC } from './reports.constants';
import { REPORTS_REPOSITORY, ReportsRepository } from './reports.repository';

/**
 * Tells real report events from forged ones by their id. Events are committed before they are
 * announced, so a record whose id is above the store's newest event id is not one of its events:
 * shown, it would move its streams past the real events that follow. The highest id known to be
 * committed is kept here (the relay of this process reports its own before publishing them), so
 * the usual record is checked with one comparison; only one above it makes the store be asked for
 * its newest id, once for all the records and streams waiting at that moment.
 */
@Injectable()
export class ReportEventIds {
  private readonly logger = new Logger(ReportEventIds.name);
  private highest = 0n;
  private running?: Promise<bigint>;
  private queued?: Promise<bigint>;
  /** Verdicts on records being checked: every stream of a user gets the same record object. */
  private readonly verdicts = new WeakMap<BusRecord, Promise<boolean>>();
  private readonly rejected: Counter<'topic' | 'reason'>;

  constructor(
    @Inject(REPORTS_REPOSITORY) private readonly repository: ReportsRepository,
    registry: MetricsRegistry,
  ) {
    this.rejected = new Counter({
      name: 'report_events_rejected_total',
      help: 'Records of report_updates that streams did not show (malformed, or an id the store never issued), by reason',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    });
  }

  /** An event id known to be committed. */
  committed(id: bigint): void {
    if (id > this.highest) {
      this.highest = id;
    }
  }

  /**
   * Whether a record's event id is one the store issued: true at once for ids up to the highest
   * known; otherwise once the store has said. Rejects only when the store cannot be asked.
   */
  check(record: BusRecord, id: string): true | Promise<boolean> {
    const value = BigInt(id);
    if (value <= this.highest) {
      return true;
    }
    let verdict = this.verdicts.get(record);
    if (verdict === undefined) {
      verdict = this.newest().then((newest) => {
        if (value <= newest) {
          return true;
        }
        this.reject(
          record,
          `event id ${id} is above the newest event id of the store (${newest})`,
          'unknown id',
        );
        return false;
      });
      this.verdicts.set(record, verdict);
    }
    return verdict;
  }

  /** Logs and counts a record no stream shows. */
  reject(record: BusRecord, why: string, reason: 'malformed' | 'unknown id'): void {
    this.logger.warn(
      `Skipped record ${record.position} of ${REPORT_UPDATES_TOPIC} for ${record.key}: ${why}`,
    );
    this.rejected.inc({ topic: REPORT_UPDATES_TOPIC, reason });
  }

  /**
   * The store's newest event id. A query already running may have started before the record that
   * asks was committed, so the asker waits for one that starts after it; all who ask meanwhile share it.
   */
  private newest(): Promise<bigint> {
    if (this.queued) {
      return this.queued;
    }
    if (this.running) {
      this.queued = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.query();
        });
      return this.queued;
    }
    return this.query();
  }

  private query(): Promise<bigint> {
    this.running = this.repository
      .maxEventId()
      .then((id) => {
        this.committed(BigInt(id));
        return this.highest;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
