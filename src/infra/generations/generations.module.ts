import { Global, Module } from '@nestjs/common';
import { RunningGenerations } from './running-generations';

/** Global: threads stop their generations before a delete, messages run them. */
@Global()
@Module({ providers: [RunningGenerations], exports: [RunningGenerations] })
export class GenerationsModule {}
