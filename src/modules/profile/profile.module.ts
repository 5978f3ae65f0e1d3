import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ProviderKeyVerifier, UnavailableKeyVerifier } from './key-verifier';
import { ProfileController } from './profile.controller';
import { ProfileRepository } from './profile.repository';
import { ProfileService } from './profile.service';

@Module({
  imports: [AuthModule],
  controllers: [ProfileController],
  providers: [ProfileRepository, ProfileService, { provide: ProviderKeyVerifier, useClass: UnavailableKeyVerifier }],
  exports: [ProfileService],
})
export class ProfileModule {}
