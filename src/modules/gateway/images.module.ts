import { Module } from '@nestjs/common';
import { ImageInputs } from './image-inputs';

/**
 * Image inputs (data: URLs and SSRF-safe fetches), for every route that takes images: the
 * thread messages and the /v1 gateway. Its own module because both consume it and
 * MessagesModule cannot import GatewayModule (the gateway imports messages).
 */
@Module({
  providers: [ImageInputs],
  exports: [ImageInputs],
})
export class ImagesModule {}
