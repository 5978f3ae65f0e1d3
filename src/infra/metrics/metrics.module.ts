import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics';

/**
 * Prometheus metrics: the `Metrics` service (one registry per app instance) for every
 * module to record into, and GET /metrics. The HTTP middleware is installed by
 * configureApp (app.setup.ts), before every other middleware.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [Metrics],
  exports: [Metrics],
})
export class MetricsModule {}
