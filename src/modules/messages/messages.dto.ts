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
  @ApiPropertyOptional({ description: 'Default: false (one JSON answer)' })
  @IsOptionalNonNull()
  @IsBoolean()
  stream?: boolean;
}

/** A stored chat message (named apart from auth's `MessageDto`: schema names are class names). */
export class ChatMessageDto {
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
  @ApiProperty({
    enum: ['complete', 'error', 'cancelled', 'interrupted'],
    description: '`interrupted`: the server answering it stopped mid-answer (it died or shut down); the text streamed until then is kept',
  })
  status: 'complete' | 'error' | 'cancelled' | 'interrupted';
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Why an assistant message failed' })
  errorCode?: string | null;
}

export class MessageListDto {
  @ApiProperty({ type: [ChatMessageDto] })
  messages: ChatMessageDto[];
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

// Server-Sent Events of an answer (POST …/messages with stream: true, GET …/:messageId/stream).

export class MessageStartEventDto {
  @ApiProperty({ format: 'uuid', description: 'The assistant message being written' })
  messageId: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'The stored user message (live streams only; absent on a replay of a stored answer)' })
  userMessageId?: string;
  @ApiProperty({ format: 'date-time' })
  timestamp: string;
}

export class TokenEventDto {
  @ApiProperty({ description: 'The next piece of the answer' })
  token: string;
  @ApiProperty({ format: 'uuid' })
  messageId: string;
}

export class MessageCompleteEventDto {
  @ApiProperty({ format: 'uuid' })
  messageId: string;
  @ApiProperty()
  totalTokens: number;
  @ApiProperty({ type: String, enum: ['stop', 'length', 'content_filter', 'other'], nullable: true })
  finishReason: 'stop' | 'length' | 'content_filter' | 'other' | null;
  @ApiProperty({ format: 'date-time' })
  timestamp: string;
}

export class MessageErrorEventDto {
  @ApiProperty({ example: 'PROVIDER_ERROR', description: 'An ErrorCode; CANCELLED when the answer was cancelled, INTERRUPTED or SERVER_SHUTDOWN when its server stopped mid-answer' })
  code: string;
  @ApiProperty()
  message: string;
  @ApiProperty({ format: 'uuid' })
  messageId: string;
}

/** The last event of every answer stream: no payload. */
export class CloseEventDto {}
