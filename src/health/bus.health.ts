import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';

@Injectable()
export class BusHealthIndicator {
  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly indicator: HealthIndicatorService,
  ) {}

  check(key = 'bus'): HealthIndicatorResult {
    const health = this.bus.health();
    const session = this.indicator.check(key);
    return health.up ? session.up(health.details) : session.down(health.details);
  }
}
