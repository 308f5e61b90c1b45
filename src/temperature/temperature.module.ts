import { Module } from '@nestjs/common';
import { TemperatureController } from './temperature.controller';
import { TemperatureService } from './temperature.service';

/** Temperature entity events from a commit log. */
@Module({
  controllers: [TemperatureController],
  providers: [TemperatureService],
})
export class TemperatureModule {}
