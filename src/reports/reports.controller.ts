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
import { LastEventId } from '../sse/topic-event-stream';
import { SseItem } from '../sse/sse-replay';
import { SseRoute } from '../sse/sse-route.decorator';
import { ReportDto } from './dto/report.dto';
import { ReportTransitionsDto, toReportTransitionsResponse } from './dto/report-transitions.dto';
import { UpdateReportDto } from './dto/update-report.dto';
import { UserIdQueryDto, UserIdStreamQueryDto } from './dto/user-id-query.dto';
import { Report } from './report';
import { describeTransitions } from './report-status.machine';
import { REPORT_STREAM_ACCESS, REPORTS_STREAM } from './reports.constants';
import { ReportsService } from './reports.service';

@ApiTags('v4: reports')
@ApiBadRequestResponse({ description: 'A malformed user_id, report id or status' })
@Controller('v4')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Access({ kind: 'owner-or-publisher', subjectQuery: 'user_id', subjectIgnoresCase: true })
  @Post('new/report')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Create a report in pending' })
  @ApiCreatedResponse({ type: ReportDto })
  create(@Query() query: UserIdQueryDto): Promise<Report> {
    return this.reports.create(query.user_id);
  }

  @Access({ kind: 'owner-or-publisher', subjectQuery: 'user_id', subjectIgnoresCase: true })
  @Get('reports')
  @ApiOperation({ summary: "The user's reports, oldest first" })
  @ApiOkResponse({ type: ReportDto, isArray: true })
  list(@Query() query: UserIdQueryDto): Promise<Report[]> {
    return this.reports.list(query.user_id);
  }

  // The same for everyone and no secret: open under AUTH_MODE=jwt too, so the page can read it before sign-in.
  @Get('transitions')
  @ApiOperation({ summary: 'The status machine: every status, and where a report in each may go next' })
  @ApiOkResponse({ type: ReportTransitionsDto })
  transitions(): ReportTransitionsDto {
    return toReportTransitionsResponse();
  }

  @Access({ kind: 'owner-or-publisher', subjectQuery: 'user_id', subjectIgnoresCase: true })
  @Put('report')
  @ApiOperation({ summary: `Change the status of a report: ${describeTransitions()}` })
  @ApiOkResponse({ type: ReportDto })
  @ApiNotFoundResponse({ description: 'No such report for this user' })
  @ApiConflictResponse({
    description: 'Not a legal transition from the current status (named in the message)',
  })
  update(@Query() query: UserIdQueryDto, @Body() body: UpdateReportDto): Promise<Report> {
    return this.reports.transition(query.user_id, body.id, body.status);
  }

  @Access(REPORT_STREAM_ACCESS)
  @Sse('sse')
  @SseRoute({
    stream: REPORTS_STREAM,
    userQuery: 'user_id',
    userIgnoresCase: true,
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
