import { ApiProperty } from '@nestjs/swagger';
import { REPORT_STATUSES, ReportStatus } from '../report';
import { REPORT_TRANSITIONS } from '../report-status.machine';

/** The status machine as the reports page and update_report_status.sh read it. */
export class ReportTransitionsDto {
  @ApiProperty({ enum: REPORT_STATUSES, isArray: true, example: REPORT_STATUSES })
  statuses: readonly ReportStatus[];

  @ApiProperty({
    description: 'Where a report in each status may go next (an empty list: a final status)',
    example: REPORT_TRANSITIONS,
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string', enum: [...REPORT_STATUSES] } },
  })
  next: Readonly<Record<ReportStatus, readonly ReportStatus[]>>;
}

export const toReportTransitionsResponse = (): ReportTransitionsDto => ({
  statuses: REPORT_STATUSES,
  next: REPORT_TRANSITIONS,
});
