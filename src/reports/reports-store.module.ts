import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { REPORTS_REPOSITORY } from './reports.repository';
import { SqlReportsRepository } from './sql-reports.repository';

/** The ReportsRepository, on whichever store StoreModule opened. */
@Module({
  imports: [StoreModule],
  providers: [{ provide: REPORTS_REPOSITORY, useClass: SqlReportsRepository }],
  exports: [REPORTS_REPOSITORY],
})
export class ReportsStoreModule {}
