import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { PrismaService } from './prisma.service';

@Global()
@Module({
  providers: [{ provide: PrismaService, inject: [AppConfig], useFactory: (config: AppConfig) => PrismaService.connect(config) }],
  exports: [PrismaService],
})
export class DatabaseModule {}
