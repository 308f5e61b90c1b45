import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { StreamCatalog } from '../multiplex/stream-catalog';
import { PublishController } from './publish.controller';
import { PublishService } from './publish.service';

/**
 * `POST /publish`: many messages per request. Stream names are read by a catalog of its own,
 * which finds the same stream kinds as GET /sse's, so both take the same names.
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [PublishController],
  providers: [StreamCatalog, PublishService],
})
export class PublishModule {}
