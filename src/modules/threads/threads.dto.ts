import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import { IsOptionalNonNull } from '../../common/http/optional';
import { PageQueryDto } from '../../common/http/page-query.dto';

export const TITLE_MAX_LENGTH = 200;

export class ListThreadsQueryDto extends PageQueryDto {
  /** Full-text search over titles, summaries and message content; typo-tolerant on titles. Results are ranked. */
  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  q?: string;

  @ApiPropertyOptional({ enum: ['created_at', 'updated_at'], default: 'updated_at' })
  @IsOptionalNonNull()
  @IsIn(['created_at', 'updated_at'])
  orderBy: 'created_at' | 'updated_at' = 'updated_at';

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptionalNonNull()
  @IsIn(['asc', 'desc'])
  order: 'asc' | 'desc' = 'desc';
}

export class CreateThreadDto {
  /** Omit for an automatic title after the first exchange. */
  @ApiPropertyOptional({ example: 'New Discussion Topic', maxLength: TITLE_MAX_LENGTH })
  @IsOptionalNonNull()
  @IsString()
  @MinLength(1)
  @MaxLength(TITLE_MAX_LENGTH)
  title?: string;
}

export class UpdateTitleDto {
  @ApiProperty({ example: 'Updated Thread Title', maxLength: TITLE_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(TITLE_MAX_LENGTH)
  title: string;
}

export class LastMessageDto {
  @ApiProperty()
  content: string;
  @ApiProperty({ enum: ['user', 'assistant'] })
  role: 'user' | 'assistant';
  @ApiProperty({ example: 'claude-opus' })
  model: string;
  @ApiProperty({ format: 'date-time' })
  timestamp: Date;
}

/** What every view of a thread shows. */
export class ThreadBaseDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty()
  title: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
  @ApiProperty({ format: 'date-time' })
  updatedAt: Date;
  @ApiProperty()
  messageCount: number;
  @ApiProperty({ type: String, nullable: true })
  summary: string | null;
}

export class ThreadSummaryDto extends ThreadBaseDto {
  @ApiProperty({ type: [String], example: ['claude-opus', 'gpt-5.5'] })
  activeModels: string[];
  @ApiPropertyOptional({ type: LastMessageDto, nullable: true })
  lastMessage?: LastMessageDto | null;
}

export class ThreadListDto {
  @ApiProperty({ type: [ThreadSummaryDto] })
  threads: ThreadSummaryDto[];
}

export class CreatedThreadDto {
  @ApiProperty({ type: ThreadSummaryDto })
  thread: ThreadSummaryDto;
}

export class ThreadModelDto {
  @ApiProperty()
  messageCount: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastMessageAt: Date | null;
  @ApiProperty({ type: String, nullable: true })
  summary: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  summaryUpdatedAt: Date | null;
}

export class ThreadDetailDto extends ThreadBaseDto {
  @ApiProperty({ type: 'object', additionalProperties: { $ref: '#/components/schemas/ThreadModelDto' }, description: 'Per model id' })
  models: Record<string, ThreadModelDto>;
}

export class ThreadDetailResultDto {
  @ApiProperty({ type: ThreadDetailDto })
  thread: ThreadDetailDto;
}

export class DeletedThreadDto {
  @ApiProperty({ format: 'uuid' })
  deletedThread: string;
  @ApiProperty()
  deletedMessages: number;
}

export class RenamedThreadInfoDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'Updated Thread Title' })
  title: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt: Date;
}

export class RenamedThreadDto {
  @ApiProperty({ type: RenamedThreadInfoDto })
  thread: RenamedThreadInfoDto;
}

export class ThreadMessageStartEventDto {
  @ApiProperty({ format: 'uuid' })
  threadId: string;
  @ApiProperty({ format: 'uuid', description: 'The answer being written: attach with GET …/models/{modelId}/messages/{messageId}/stream' })
  messageId: string;
  @ApiProperty({ example: 'gpt-4o' })
  modelId: string;
  @ApiProperty({ format: 'uuid' })
  userMessageId: string;
}

export class ThreadMessageCompleteEventDto {
  @ApiProperty({ format: 'uuid' })
  threadId: string;
  @ApiProperty({ format: 'uuid' })
  messageId: string;
  @ApiProperty()
  modelId: string;
  @ApiProperty({ enum: ['complete'] })
  status: 'complete';
}

export class ThreadMessageErrorEventDto {
  @ApiProperty({ format: 'uuid' })
  threadId: string;
  @ApiProperty({ format: 'uuid' })
  messageId: string;
  @ApiProperty()
  modelId: string;
  @ApiProperty({ enum: ['error', 'cancelled', 'interrupted'], description: 'How the stored answer ended (`error` also when it could not be stored)' })
  status: 'error' | 'cancelled' | 'interrupted';
  @ApiProperty({ example: 'PROVIDER_ERROR' })
  code: string;
}

export class ThreadUpdatedEventDto {
  @ApiProperty({ format: 'uuid' })
  threadId: string;
  @ApiPropertyOptional({ description: 'The new title, when it changed' })
  title?: string;
  @ApiPropertyOptional({ description: 'The model whose summary changed; fetch it from …/models/{modelId}/summary' })
  summaryModelId?: string;
}
