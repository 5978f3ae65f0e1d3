import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { IsOptionalNonNull } from '../../common/http/optional';
import { KEY_PROVIDERS, KeyProvider } from '../profile/profile.dto';
import type { ModelLoadStatus } from './model-provider';

/** Catalog and discovered model ids (discovered ones may carry `provider:` and `/`). */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

export class PricingDto {
  /** USD per 1K input tokens */
  @ApiProperty({ example: 0.015 })
  @IsNumber()
  @Min(0)
  input: number;
  /** USD per 1K output tokens */
  @ApiProperty({ example: 0.075 })
  @IsNumber()
  @Min(0)
  output: number;
}

export class TemperatureRangeDto {
  @ApiProperty({ example: 0 })
  @IsNumber()
  @Min(0)
  min: number;
  @ApiProperty({ example: 1 })
  @IsNumber()
  @Max(2)
  max: number;
  @ApiProperty({ example: 0.1 })
  @IsNumber()
  step: number;
  @ApiProperty({ example: 0.7 })
  @IsNumber()
  default: number;
}

/** One model of the catalog file (shipped, or MODELS_FILE); validated at start. */
export class CatalogEntry {
  @ApiProperty({ example: 'claude-opus', pattern: MODEL_ID_PATTERN.source })
  @IsString()
  @Matches(MODEL_ID_PATTERN)
  id: string;

  @ApiProperty({ example: 'Claude Opus 4.1' })
  @IsString()
  @MaxLength(200)
  name: string;

  /** Provider instance: openai, anthropic, google, ollama, demo, or an OpenAI-compatible endpoint's name. */
  @ApiProperty({ example: 'anthropic' })
  @IsString()
  provider: string;

  /** The provider's own model name. */
  @ApiProperty({ example: 'claude-opus-4-1' })
  @IsString()
  model: string;

  @ApiProperty({ type: String, enum: KEY_PROVIDERS, nullable: true, example: 'claude' })
  @IsOptional()
  @IsIn(KEY_PROVIDERS)
  apiKeyRequired: KeyProvider | null;

  @ApiProperty()
  @IsBoolean()
  requiresLoading: boolean;

  @ApiProperty({ type: [String], example: ['text', 'reasoning'] })
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  capabilities: string[];

  @ApiProperty({ example: 200000 })
  @IsInt()
  @Min(1)
  contextLength: number;

  @ApiPropertyOptional({ example: 4096 })
  @IsOptionalNonNull()
  @IsInt()
  @Min(1)
  maxOutputTokens?: number;

  @ApiProperty({ type: PricingDto, nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => PricingDto)
  pricing: PricingDto | null;

  @ApiProperty({ type: TemperatureRangeDto })
  @ValidateNested()
  @Type(() => TemperatureRangeDto)
  temperatureRange: TemperatureRangeDto;
}

export class CatalogModelDto extends CatalogEntry {
  /** Usable now by the current user: provider enabled, key configured (own or server), local server reachable. */
  @ApiProperty()
  available: boolean;
}

export class ModelListDto {
  @ApiProperty({ type: [CatalogModelDto] })
  models: CatalogModelDto[];
}

const STATUSES: ModelLoadStatus[] = ['not_loaded', 'loading', 'loaded', 'error', 'unavailable'];

export class ModelStatusDto {
  @ApiProperty({ example: 'gemma-2b-local' })
  modelId: string;
  @ApiProperty({ enum: STATUSES })
  status: ModelLoadStatus;
  @ApiProperty({ type: Number, nullable: true, example: 100 })
  loadProgress: number | null;
  @ApiProperty({ type: String, nullable: true, example: '2.1GB' })
  memoryUsage: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastLoaded: string | null;
  /** Seconds, while loading. */
  @ApiProperty({ type: Number, nullable: true })
  estimatedLoadTime: number | null;
  @ApiPropertyOptional({ description: 'Why loading failed' })
  error?: string;
}

export class LoadStartedDto {
  @ApiProperty({ example: 'gemma-2b-local' })
  modelId: string;
  @ApiProperty({ example: 'load_3f2a…' })
  jobId: string;
  @ApiProperty({ enum: ['loading', 'loaded'] })
  status: 'loading' | 'loaded';
  @ApiProperty({ type: Number, nullable: true, example: 180 })
  estimatedTime: number | null;
}

export class ModelParamDto {
  @ApiProperty({ example: 'gemma-2b-local', pattern: MODEL_ID_PATTERN.source })
  @IsString()
  @Matches(MODEL_ID_PATTERN, { message: 'modelId is not a valid model id' })
  modelId: string;
}

export class LoadStreamQueryDto {
  @ApiProperty({ example: 'load_3f2a…' })
  @IsString()
  @MaxLength(100)
  jobId: string;
}

// Server-Sent Events of GET /api/models/:modelId/load/stream.

export class LoadProgressEventDto {
  @ApiProperty({ enum: ['pulling', 'loading', 'loaded'] })
  status: 'pulling' | 'loading' | 'loaded';
  @ApiProperty({ minimum: 0, maximum: 100 })
  progress: number;
  @ApiProperty({ example: 'pulling manifest' })
  message: string;
}

export class ModelLoadedEventDto {
  @ApiProperty({ example: 'gemma-2b-local' })
  modelId: string;
  @ApiProperty()
  durationMs: number;
}
