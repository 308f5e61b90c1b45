import { ApiProperty } from '@nestjs/swagger';
import { REPORT_STATUSES } from '../report';

export class ReportDto {
  @ApiProperty({ format: 'uuid' })
  userId: string;

  @ApiProperty({ format: 'uuid' })
  reportId: string;

  @ApiProperty({ enum: REPORT_STATUSES })
  reportStatus: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}
