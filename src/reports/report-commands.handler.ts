import { Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { lastValueFrom } from 'rxjs';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { BusClient } from '../bus/transport/bus-client';
import { BusContext } from '../bus/transport/bus-context';
import { BusHandlers } from '../bus/transport/bus-handlers.decorator';
import { UpdateReportDto } from './dto/update-report.dto';
import { IllegalTransitionError, ReportNotFoundError } from './report.errors';
import { REPORT_COMMANDS_TOPIC, REPORT_DEAD_LETTER_TOPIC } from './reports.constants';
import { REPORTS_REPOSITORY, ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';

/**
 * Status updates from workers on the command topic `v4_messages` (`{"id","status"}`), handled once
 * across instances (one consumer group, `reports`) and through the same state machine as PUT
 * /v4/report. A rejected update is logged with the reason and kept on the dead-letter topic; a
 * failure of ours (the store is down) rejects, and the bus reads the command again.
 */
@BusHandlers()
export class ReportCommandsHandler {
  private readonly logger = new Logger(ReportCommandsHandler.name);

  constructor(
    @Inject(MESSAGE_BUS) bus: MessageBus,
    @Inject(REPORTS_REPOSITORY) private readonly repository: ReportsRepository,
    private readonly reports: ReportsService,
    private readonly producer: BusClient,
  ) {
    bus.declareTopic(REPORT_DEAD_LETTER_TOPIC);
  }

  // <string>: Nest's typed overload would want the parameters after the payload to be `unknown`.
  @EventPattern<string>(REPORT_COMMANDS_TOPIC, { group: 'reports' })
  async handle(@Payload() value: string, @Ctx() context: BusContext): Promise<void> {
    const reason = await this.apply(value);
    if (reason !== undefined) {
      await this.reject(context, value, reason);
    }
  }

  /** Applies one update; says why when it is rejected. */
  private async apply(value: string): Promise<string | undefined> {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      return 'not JSON (expected {"id": "<report uuid>", "status": "<status>"})';
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      return 'not a JSON object (expected {"id": "<report uuid>", "status": "<status>"})';
    }
    const update = plainToInstance(UpdateReportDto, json);
    const errors = await validate(update, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      return errors.flatMap((error) => Object.values(error.constraints ?? {})).join('; ');
    }
    const owner = await this.repository.ownerOf(update.id);
    if (owner === undefined) {
      return `report ${update.id} does not exist`;
    }
    try {
      await this.reports.transition(owner, update.id, update.status);
      return undefined;
    } catch (error) {
      // The state machine's refusals are the sender's problem: dead-lettered. Anything else (the
      // store is down) is ours, and the bus retries the command.
      if (error instanceof IllegalTransitionError || error instanceof ReportNotFoundError) {
        return error.message;
      }
      throw error;
    }
  }

  private async reject(context: BusContext, value: string, reason: string): Promise<void> {
    const source = context.getPosition();
    this.logger.warn(`Rejected status update ${source}: ${reason}`);
    const letter = JSON.stringify({ source, value, reason, rejectedAt: new Date() });
    try {
      await lastValueFrom(
        this.producer.emit(REPORT_DEAD_LETTER_TOPIC, { key: context.getKey(), value: letter }),
      );
    } catch (error) {
      this.logger.error(
        `Could not keep rejected update ${source} on ${REPORT_DEAD_LETTER_TOPIC}: ${String(error)}`,
      );
    }
  }
}
