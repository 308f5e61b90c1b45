import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { SseItem } from '../sse/sse-replay';
import { OutboxRelay } from './outbox-relay';
import { Report, ReportStatus } from './report';
import { ReportEventIds } from './report-event-ids';
import { reportEventStream } from './report-event-stream';
import { IllegalTransitionError, ReportNotFoundError } from './report.errors';
import { allowedSources } from './report-status.machine';
import { REPORTS_REPOSITORY, ReportsRepository } from './reports.repository';

/**
 * Reports and their status machine. Every change is announced through the outbox. Failures are domain
 * errors (report.errors.ts): the HTTP filter and the command handler each map them once.
 */
@Injectable()
export class ReportsService {
  constructor(
    @Inject(REPORTS_REPOSITORY) private readonly repository: ReportsRepository,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly relay: OutboxRelay,
    private readonly knownIds: ReportEventIds,
  ) {}

  async create(userId: string): Promise<Report> {
    const { report } = await this.repository.create(userId);
    this.relay.wake();
    return report;
  }

  list(userId: string): Promise<Report[]> {
    return this.repository.listByUser(userId);
  }

  /** Moves a report of this user to `status`, if the state machine allows it from where it is now. */
  async transition(userId: string, reportId: string, status: ReportStatus): Promise<Report> {
    const result = await this.repository.transition(userId, reportId, status, [...allowedSources(status)]);
    switch (result.kind) {
      case 'changed':
        this.relay.announce(result.announce);
        return result.report;
      case 'not-found':
        throw new ReportNotFoundError(userId, reportId);
      case 'conflict':
        throw new IllegalTransitionError(reportId, result.current, status);
    }
  }

  stream(userId: string, lastEventId?: string): Observable<SseItem> {
    return reportEventStream(this.bus, this.repository, this.knownIds, userId, lastEventId);
  }
}
