import { Module } from '@nestjs/common';
import { BroadcastStreamKind } from './broadcast-stream.kind';
import { BroadcasterController } from './broadcaster.controller';
import { BroadcasterService } from './broadcaster.service';

@Module({
  controllers: [BroadcasterController],
  providers: [BroadcasterService, BroadcastStreamKind],
})
export class BroadcasterModule {}
