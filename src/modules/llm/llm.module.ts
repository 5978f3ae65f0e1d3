import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module';
import { ModelsModule } from '../models/models.module';
import { LlmController } from './llm.controller';
import { LlmService } from './llm.service';

@Module({
  imports: [GatewayModule, ModelsModule],
  controllers: [LlmController],
  providers: [LlmService],
})
export class LlmModule {}
