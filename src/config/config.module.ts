import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app.config';

/** Provides the one validated AppConfig, loaded by main.ts (or a test) before the app is built. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
