import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { IsOptionalNonNull } from '../../common/http/optional';

export class UsageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 366, default: 30, description: 'How many days back to count' })
  @IsOptionalNonNull()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(366)
  days: number = 30;
}

/** Calls and tokens: what every usage line and the totals count. */
export class UsageCountsDto {
  @ApiProperty()
  requests: number;
  @ApiProperty()
  promptTokens: number;
  @ApiProperty()
  completionTokens: number;
  @ApiProperty({ description: 'Of promptTokens, those the provider served from its prompt cache (counted only where the provider reports it)' })
  cachedPromptTokens: number;
  @ApiProperty({ description: 'Of completionTokens, those the model spent reasoning (counted only where the provider reports it)' })
  reasoningTokens: number;
}

export class UsageLineDto extends UsageCountsDto {
  @ApiProperty({ enum: ['chat', 'gateway', 'llm'], description: 'chat: thread messages; gateway: /v1; llm: /api/llm/*' })
  source: 'chat' | 'gateway' | 'llm';
  @ApiProperty({ example: 'gpt-5.4-mini' })
  modelId: string;
  /** USD at catalog prices; null when the model has no price. */
  @ApiProperty({ type: Number, nullable: true, example: 0.0123 })
  cost: number | null;
}

export class UsageTotalsDto extends UsageCountsDto {
  @ApiProperty({ example: 0.0123 })
  cost: number;
}

export class UsageSummaryDto {
  @ApiProperty()
  since: Date;
  @ApiProperty({ type: UsageTotalsDto })
  totals: UsageTotalsDto;
  @ApiProperty({ type: [UsageLineDto] })
  byModel: UsageLineDto[];
}
