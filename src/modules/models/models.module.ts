import { Module } from '@nestjs/common';
import { ProviderKeysModule } from '../profile/provider-keys.module';
import { ModelLoadService } from './model-load.service';
import { ModelsController } from './models.controller';
import { ModelsKeyVerifier } from './models-key-verifier';
import { ModelsService } from './models.service';
import { ProviderRegistry } from './provider-registry';
import { TokenCounter } from './token-counter';

@Module({
  imports: [ProviderKeysModule],
  controllers: [ModelsController],
  providers: [ProviderRegistry, ModelsService, ModelLoadService, ModelsKeyVerifier, TokenCounter],
  exports: [ProviderRegistry, ModelsService, ModelsKeyVerifier, TokenCounter],
})
export class ModelsModule {}
