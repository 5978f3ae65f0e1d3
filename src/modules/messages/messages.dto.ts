import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsString, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsOptionalNonNull } from '../../common/http/optional';
import { ModelParamDto } from '../models/models.dto';

export const MESSAGE_MAX_LENGTH = 100_000;

export class ThreadModelParamsDto extends ModelParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  threadId: string;
}

export class MessageParamsDto extends ThreadModelParamsDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  messageId: string;
}

export class ListMessagesQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptionalNonNull()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional()
  @IsOptionalNonNull()
  @IsString()
  @MaxLength(500)
  cursor?: string;

  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'desc' })
  @IsOptionalNonNull()
  @IsIn(['asc', 'desc'])
  order: 'asc' | 'desc' = 'desc';
}

export class SendMessageDto {
  @ApiProperty({ example: 'Explain the benefits of event-driven architecture', maxLength: MESSAGE_MAX_LENGTH })
  @IsString()
  @MinLength(1)
  @MaxLength(MESSAGE_MAX_LENGTH)
  content: string;

  /** Within the model's temperatureRange; default: the user's default, then the model's. */
  @ApiPropertyOptional({ example: 0.8 })
  @IsOptionalNonNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  /** true: `text/event-stream` with message_start, token…, message_complete, close. */
  @ApiPropertyOptional({ default: false })
  @IsOptionalNonNull()
  @IsBoolean()
  stream?: boolean;
}

export class MessageDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ format: 'uuid' })
  threadId: string;
  @ApiProperty({ example: 'gpt-4o' })
  modelId: string;
  @ApiProperty({ enum: ['user', 'assistant'] })
  role: 'user' | 'assistant';
  @ApiProperty()
  content: string;
  @ApiProperty({ type: Number, nullable: true })
  tokens: number | null;
  @ApiPropertyOptional({ type: Number, nullable: true })
  temperature?: number | null;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
  @ApiProperty({ enum: ['complete', 'error', 'cancelled'] })
  status: 'complete' | 'error' | 'cancelled';
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Why an assistant message failed' })
  errorCode?: string | null;
}

export class MessageListDto {
  @ApiProperty({ type: [MessageDto] })
  messages: MessageDto[];
}

export class SentUserMessageDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty()
  content: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
}

export class SentAssistantMessageDto extends SentUserMessageDto {
  @ApiProperty()
  tokens: number;
  @ApiProperty({ type: Number, nullable: true })
  temperature: number | null;
}

export class ExchangeDto {
  @ApiProperty({ type: SentUserMessageDto })
  userMessage: SentUserMessageDto;
  @ApiProperty({ type: SentAssistantMessageDto })
  assistantMessage: SentAssistantMessageDto;
}

export class CancelledDto {
  @ApiProperty({ format: 'uuid' })
  messageId: string;
  @ApiProperty()
  cancelled: boolean;
}
