import { Module } from '@nestjs/common';
import { OutboxRelay } from './outbox-relay';
import { ReportCommandsHandler } from './report-commands.handler';
import { ReportEventIds } from './report-event-ids';
import { ReportsStoreModule } from './reports-store.module';
import { ReportsStreamKind } from './reports-stream.kind';
import { ReportsController } from './reports.controller';
import { ReportsService } from './reports.service';

/** Reports, their status machine, the outbox relay and the v4_messages commands. */
@Module({
  imports: [ReportsStoreModule],
  controllers: [ReportsController, ReportCommandsHandler],
  providers: [ReportsService, OutboxRelay, ReportEventIds, ReportsStreamKind],
})
export class ReportsModule {}
