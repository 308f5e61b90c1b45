import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsUUID } from 'class-validator';
import { REPORT_STATUSES, ReportStatus } from '../report';
import { toLowerCaseUuid } from './user-id-query.dto';

export class UpdateReportDto {
  @ApiProperty({ description: "The report's UUID", example: '0b7e6c1e-4bd6-4c41-8d4f-3f5b1f3e2a77' })
  @Transform(toLowerCaseUuid)
  @IsUUID('all', { message: '$property must be a UUID' })
  id: string;

  @ApiProperty({ enum: REPORT_STATUSES, example: 'queued' })
  @IsIn(REPORT_STATUSES, { message: `$property must be one of: ${REPORT_STATUSES.join(', ')}` })
  status: ReportStatus;
}
