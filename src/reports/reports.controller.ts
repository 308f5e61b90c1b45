import { Body, Controller, Get, HttpCode, HttpStatus, Post, Put, Query, Sse } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { ApiSseStream } from '../sse/api-sse-stream.decorator';
import { LastEventId } from '../sse/last-event-id.decorator';
import { SseItem } from '../sse/sse-replay';
import { SseRoute } from '../sse/sse-route.decorator';
import { ReportDto } from './dto/report.dto';
import { UpdateReportDto } from './dto/update-report.dto';
import { UserIdQueryDto, UserIdStreamQueryDto } from './dto/user-id-query.dto';
import { Report } from './report';
import { ReportsService } from './reports.service';

@ApiTags('v4: reports')
@ApiBadRequestResponse({ description: 'A malformed user_id, report id or status' })
@Controller('v4')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Access({ kind: 'owner-or-publisher', subjectQuery: 'user_id' })
  @Post('new/report')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Create a report in pending' })
  @ApiCreatedResponse({ type: ReportDto })
  create(@Query() query: UserIdQueryDto): Promise<Report> {
    return this.reports.create(query.user_id);
  }

  @Access({ kind: 'owner-or-publisher', subjectQuery: 'user_id' })
  @Get('reports')
  @ApiOperation({ summary: "The user's reports, oldest first" })
  @ApiOkResponse({ type: ReportDto, isArray: true })
  list(@Query() query: UserIdQueryDto): Promise<Report[]> {
    return this.reports.list(query.user_id);
  }

  @Access({ kind: 'owner-or-publisher', subjectQuery: 'user_id' })
  @Put('report')
  @ApiOperation({
    summary:
      'Change the status of a report: pending→queued|canceled, queued→processing|canceled, processing→completed|failed, failed→pending, canceled→pending',
  })
  @ApiOkResponse({ type: ReportDto })
  @ApiNotFoundResponse({ description: 'No such report for this user' })
  @ApiConflictResponse({
    description: 'Not a legal transition from the current status (named in the message)',
  })
  update(@Query() query: UserIdQueryDto, @Body() body: UpdateReportDto): Promise<Report> {
    return this.reports.transition(query.user_id, body.id, body.status);
  }

  @Access({ kind: 'subscriber', subjectQuery: 'user_id' })
  @Sse('sse')
  @SseRoute({
    stream: 'v4',
    userQuery: 'user_id',
    keepAlive: { comment: 'keep-alive-text', intervalSetting: 'REPORTS_KEEPALIVE_MS' },
  })
  @ApiOperation({
    summary:
      "Status changes of the user's reports, from whichever instance made them; resumes from the database",
  })
  @ApiSseStream(
    '`report_status_update` events',
    'event: report_status_update\nid: 42\ndata: {"id":"0b7e6c1e-4bd6-4c41-8d4f-3f5b1f3e2a77","status":"queued"}\n\n',
  )
  stream(@Query() query: UserIdStreamQueryDto, @LastEventId() lastEventId?: string): Observable<SseItem> {
    return this.reports.stream(query.user_id, lastEventId);
  }
}
