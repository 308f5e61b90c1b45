import { Module } from '@nestjs/common';
import { BroadcasterController } from './broadcaster.controller';
import { BroadcasterService } from './broadcaster.service';

@Module({
  controllers: [BroadcasterController],
  providers: [BroadcasterService],
})
export class BroadcasterModule {}
