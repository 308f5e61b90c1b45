import { Module } from '@nestjs/common';
import { TemperatureStreamKind } from './temperature-stream.kind';
import { TemperatureController } from './temperature.controller';
import { TemperatureService } from './temperature.service';

/** Temperature entity events from a commit log. */
@Module({
  controllers: [TemperatureController],
  providers: [TemperatureService, TemperatureStreamKind],
})
export class TemperatureModule {}
