import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOptionalNonNull } from '../../common/http/optional';

/** Seed 003's parameters, shared by the JSON body and the stream's query string. */
export class LlmPromptDto {
  @ApiProperty({ example: 'Write a haiku about tea' })
  @IsString()
  @MinLength(1)
  prompt: string;

  @ApiPropertyOptional({ example: 'gpt-5.4-mini', description: 'A catalog model id; default: LLM_DEFAULT_MODEL, else the first model of `provider`' })
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(200)
  model?: string;

  @ApiPropertyOptional({ example: 'openai', description: 'Provider instance whose first catalog model is used when `model` is absent. Default: openai' })
  @IsOptionalNonNull()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,63}$/)
  provider?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 })
  @IsOptionalNonNull()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100_000 })
  @IsOptionalNonNull()
  @IsInt()
  @Min(1)
  @Max(100_000)
  maxTokens?: number;

  @ApiPropertyOptional({ description: 'System prompt; default LLM_SYSTEM_PROMPT' })
  @IsOptionalNonNull()
  @IsString()
  system?: string;
}

export class LlmCompleteDto extends LlmPromptDto {
  @ApiPropertyOptional({ description: 'Use the response cache when the server has one (LLM_CACHE_ENABLED). Default: true' })
  @IsOptionalNonNull()
  @IsBoolean()
  useCache?: boolean;
}

const toNumber = ({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);

/** The query string of GET /api/llm/stream: numbers arrive as text. */
export class LlmStreamQueryDto extends LlmPromptDto {
  @Transform(toNumber)
  override temperature?: number = undefined;

  @Transform(toNumber)
  override maxTokens?: number = undefined;
}

export class LlmUsageDto {
  @ApiProperty()
  promptTokens: number;
  @ApiProperty()
  completionTokens: number;
  @ApiProperty()
  totalTokens: number;
}

export class LlmCompletionDto {
  @ApiProperty()
  content: string;
  @ApiProperty({ example: 'gpt-5.4-mini', description: 'The catalog model that answered' })
  model: string;
  @ApiProperty({ description: 'Unix seconds' })
  created: number;
  @ApiProperty({ type: LlmUsageDto })
  usage: LlmUsageDto;
  @ApiProperty({ description: 'Answered from the response cache (no provider call)' })
  cached: boolean;
}

// Frames of /api/llm/stream: `data:` lines without an event name, then at most one `event: error`.

export class LlmDeltaEventDto {
  @ApiProperty({ description: 'The next piece of the answer' })
  delta: string;
}

export class LlmDoneEventDto {
  @ApiProperty({ enum: [true] })
  done: true;
  @ApiProperty({ description: 'The whole answer' })
  content: string;
}
