import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MultiplexController } from './multiplex.controller';
import { Multiplexer } from './multiplexer';
import { StreamCatalog, StreamsGuard } from './stream-catalog';

/**
 * `GET /sse?stream=…`: several streams on one connection. The streams are the kinds the feature
 * modules provide (@MultiplexStream()), found by the catalog; this module knows none of them.
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [MultiplexController],
  providers: [StreamCatalog, StreamsGuard, Multiplexer],
})
export class MultiplexModule {}
