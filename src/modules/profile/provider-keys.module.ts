import { Module } from '@nestjs/common';
import { ProfileRepository } from './profile.repository';
import { ProviderKeysService } from './provider-keys.service';

/** Stored provider keys, shared by the profile (management) and models (use) modules. */
@Module({
  providers: [ProfileRepository, ProviderKeysService],
  exports: [ProfileRepository, ProviderKeysService],
})
export class ProviderKeysModule {}
