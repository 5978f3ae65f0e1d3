import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ModelsKeyVerifier } from '../models/models-key-verifier';
import { ModelsModule } from '../models/models.module';
import { ProviderKeyVerifier } from './key-verifier';
import { ProfileController } from './profile.controller';
import { ProfileService } from './profile.service';
import { ProviderKeysModule } from './provider-keys.module';

@Module({
  imports: [AuthModule, ProviderKeysModule, ModelsModule],
  controllers: [ProfileController],
  // Keys are verified by a real call to their provider (models module).
  providers: [ProfileService, { provide: ProviderKeyVerifier, useExisting: ModelsKeyVerifier }],
  exports: [ProfileService],
})
export class ProfileModule {}
