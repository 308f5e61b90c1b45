import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { StoreHealth } from '../store/store.health';
import { BusHealthIndicator } from './bus.health';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly bus: BusHealthIndicator,
    private readonly store: StoreHealth,
    private readonly indicator: HealthIndicatorService,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: the message bus (Kafka, when configured) and the reports store answer',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.bus.check(),
      async () => {
        const { up, details } = await this.store.check();
        const session = this.indicator.check('store');
        return up ? session.up(details) : session.down(details);
      },
    ]);
  }
}
