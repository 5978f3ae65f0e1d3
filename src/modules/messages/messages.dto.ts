import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsString, IsUUID, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { IsOptionalNonNull } from '../../common/http/optional';
import { ModelParamDto } from '../models/models.dto';

export const MESSAGE_MAX_LENGTH = 100_000;
/** Images one message may carry. */
export const MAX_MESSAGE_IMAGES = 4;

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

export class ImageAttachmentDto {
  @ApiProperty({
    example: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    description:
      'A base64 `data:image/…;base64,…` URL, or an http(s) URL the server fetches (public addresses only). ' +
      'PNG, JPEG, GIF or WebP; the bytes must be the format declared; at most IMAGE_FETCH_MAX_BYTES (default 10 MiB) each',
  })
  @IsString()
  @MinLength(1)
  url: string;
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

  @ApiPropertyOptional({
    type: [ImageAttachmentDto],
    maxItems: MAX_MESSAGE_IMAGES,
    description:
      'Images sent with the text, for models with the `vision` capability (others answer 400 naming `images`). ' +
      'They are stored with the message and sent again with it while it stays in the context; each counts as ' +
      'about 800 tokens of context. The whole JSON body may be at most 20 MB.',
  })
  @IsOptionalNonNull()
  @IsArray()
  @ArrayMaxSize(MAX_MESSAGE_IMAGES)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => ImageAttachmentDto)
  images?: ImageAttachmentDto[];

  /** true: `text/event-stream` with message_start, token…, message_complete, close. */
  @ApiPropertyOptional({ description: 'Default: false (one JSON answer)' })
  @IsOptionalNonNull()
  @IsBoolean()
  stream?: boolean;
}

/** An image of a stored user message, as a data: URL ready for an `<img src>`. */
export class MessageImageDto {
  @ApiProperty({ enum: ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] })
  mediaType: string;
  @ApiProperty({ example: 'data:image/png;base64,iVBORw0KGgo…', description: 'The image as a base64 data: URL (http(s) images are stored as fetched)' })
  url: string;
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
  @ApiPropertyOptional({ type: [MessageImageDto], description: 'The images sent with a user message; absent when it had none (and on assistant messages)' })
  images?: MessageImageDto[];
  @ApiProperty({ type: Number, nullable: true, description: 'A user message counts its images too (about 800 tokens each)' })
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

export class SentMessageDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty()
  content: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: Date;
}

export class SentUserMessageDto extends SentMessageDto {
  @ApiPropertyOptional({ type: [MessageImageDto], description: 'The images sent with it; absent when none' })
  images?: MessageImageDto[];
}

export class SentAssistantMessageDto extends SentMessageDto {
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
