import { Global, Module } from '@nestjs/common';
import { InMemoryStreamBus } from './in-memory-stream-bus';
import { StreamBus } from './stream-bus';

/** The stream bus adapter; Redis Streams will be chosen here when REDIS_URL is set. */
@Global()
@Module({
  providers: [{ provide: StreamBus, useClass: InMemoryStreamBus }],
  exports: [StreamBus],
})
export class StreamBusModule {}
