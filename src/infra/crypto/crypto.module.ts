import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { KeyVault } from './key-vault';

@Global()
@Module({
  providers: [
    { provide: KeyVault, inject: [AppConfig], useFactory: (config: AppConfig) => new KeyVault(config.encryptionKey, config.ENCRYPTION_KEY_PREVIOUS) },
  ],
  exports: [KeyVault],
})
export class CryptoModule {}
