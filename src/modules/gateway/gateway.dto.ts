import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';

/** `content` as OpenAI takes it: a string, or text parts (images and audio are refused). */
function IsTextContent(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isTextContent',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' ||
          (Array.isArray(value) &&
            value.length > 0 &&
            value.every((p) => typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string')),
        defaultMessage: () => 'content must be a string or an array of {"type":"text","text":…} parts; images, audio and files are not supported',
      },
    },
    options,
  );
}

/** A stop sequence or up to 4 of them. */
function IsStop(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isStop',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' || (Array.isArray(value) && value.length <= 4 && value.every((s) => typeof s === 'string' && s.length > 0)),
        defaultMessage: () => 'stop must be a string or an array of at most 4 strings',
      },
    },
    options,
  );
}

export const GATEWAY_ROLES = ['system', 'developer', 'user', 'assistant'] as const;

export class TextPartDto {
  @ApiProperty({ enum: ['text'] })
  type: 'text';
  @ApiProperty()
  text: string;
}

export class GatewayMessageDto {
  @ApiProperty({ enum: GATEWAY_ROLES, description: '`developer` is treated as `system`; `tool` messages are not supported' })
  @IsIn(GATEWAY_ROLES, { message: 'role must be system, developer, user or assistant (tools are not supported)' })
  role: (typeof GATEWAY_ROLES)[number];

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#/components/schemas/TextPartDto' } }] })
  @IsTextContent()
  content: string | TextPartDto[];

  /** Accepted and ignored. */
  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  name?: string | null;
}

export class StreamOptionsDto {
  @ApiPropertyOptional({ nullable: true, description: 'Send a last chunk with `usage` (and `usage: null` on the others)' })
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean | null;
}

/**
 * OpenAI's Chat Completions request. Mapped: model, messages, stream, stream_options,
 * temperature, top_p, max_tokens / max_completion_tokens, stop. `n` must be 1; `tools` and
 * `functions` are refused. Every other OpenAI parameter (frequency/presence penalties,
 * seed, logit_bias, logprobs, response_format, user, metadata, store…) is dropped.
 * Per provider: Anthropic takes neither temperature nor top_p (dropped); Gemini and Ollama
 * take all mapped parameters.
 */
export class ChatCompletionRequestDto {
  @ApiProperty({ example: 'gpt-5.4-mini', description: "A catalog model id (GET /v1/models) or the provider's own model name" })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model: string;

  @ApiProperty({ type: [GatewayMessageDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(2000)
  @ValidateNested({ each: true })
  @Type(() => GatewayMessageDto)
  messages: GatewayMessageDto[];

  @ApiPropertyOptional({ nullable: true, description: 'Default: false (one chat.completion)' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean | null;

  @ApiPropertyOptional({ nullable: true, type: StreamOptionsDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto | null;

  @ApiPropertyOptional({ nullable: true, minimum: 0, maximum: 2 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @ApiPropertyOptional({ nullable: true, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number | null;

  @ApiPropertyOptional({ nullable: true, minimum: 1, deprecated: true, description: 'Same as max_completion_tokens' })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_tokens?: number | null;

  @ApiPropertyOptional({ nullable: true, minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_completion_tokens?: number | null;

  @ApiPropertyOptional({ nullable: true, oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }] })
  @IsOptional()
  @IsStop()
  stop?: string | string[] | null;

  @ApiPropertyOptional({ nullable: true, minimum: 1, maximum: 1, description: 'Only one choice per request is supported' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1, { message: 'n must be 1: one choice per request is supported' })
  n?: number | null;

  @ApiPropertyOptional({ nullable: true, type: 'array', items: { type: 'object' }, maxItems: 0, description: 'Tools are not supported: must be absent or empty' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(0, { message: 'tools are not supported by this gateway' })
  tools?: unknown[] | null;

  @ApiPropertyOptional({ nullable: true, type: 'array', items: { type: 'object' }, maxItems: 0, deprecated: true })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(0, { message: 'functions are not supported by this gateway' })
  functions?: unknown[] | null;

  @ApiPropertyOptional({
    nullable: true,
    format: 'uuid',
    description: 'Parley: store this exchange in a conversation (PERSIST_TRANSCRIPTS); the X-Conversation-Id header does the same',
  })
  @IsOptional()
  @IsUUID()
  conversation_id?: string | null;
}

/** A field OpenAI's format has that Parley always sends as null. */
const ALWAYS_NULL = { type: 'object', nullable: true, enum: [null], description: 'Always null' } as unknown as ApiPropertyOptions;

export class CompletionUsageDto {
  @ApiProperty()
  prompt_tokens: number;
  @ApiProperty()
  completion_tokens: number;
  @ApiProperty()
  total_tokens: number;
}

export class AssistantMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role: 'assistant';
  @ApiProperty({ type: String, nullable: true })
  content: string | null;
  @ApiProperty({ type: String, nullable: true })
  refusal: string | null;
}

export class ChoiceDto {
  @ApiProperty()
  index: number;
  @ApiProperty({ type: AssistantMessageDto })
  message: AssistantMessageDto;
  @ApiProperty({ enum: ['stop', 'length', 'content_filter'] })
  finish_reason: 'stop' | 'length' | 'content_filter';
  @ApiProperty(ALWAYS_NULL)
  logprobs: null;
}

/**
 * The non-streaming answer. With `stream: true` the response is `text/event-stream` of
 * `chat.completion.chunk` objects (`data: {…}` lines) ending with `data: [DONE]`.
 */
export class ChatCompletionDto {
  @ApiProperty({ example: 'chatcmpl-3f1c…' })
  id: string;
  @ApiProperty({ enum: ['chat.completion'] })
  object: 'chat.completion';
  @ApiProperty({ description: 'Unix seconds' })
  created: number;
  @ApiProperty()
  model: string;
  @ApiProperty({ type: [ChoiceDto] })
  choices: ChoiceDto[];
  @ApiProperty({ type: CompletionUsageDto })
  usage: CompletionUsageDto;
}

export class ChunkDeltaDto {
  @ApiPropertyOptional({ enum: ['assistant'], description: 'On the first chunk only' })
  role?: 'assistant';
  @ApiPropertyOptional()
  content?: string;
}

export class ChunkChoiceDto {
  @ApiProperty()
  index: number;
  @ApiProperty({ type: ChunkDeltaDto })
  delta: ChunkDeltaDto;
  @ApiProperty({ type: String, enum: ['stop', 'length', 'content_filter'], nullable: true })
  finish_reason: 'stop' | 'length' | 'content_filter' | null;
  @ApiProperty(ALWAYS_NULL)
  logprobs: null;
}

/** One `data:` frame of a streamed answer (the stream ends with `data: [DONE]`). */
export class ChatCompletionChunkDto {
  @ApiProperty({ example: 'chatcmpl-3f1c…' })
  id: string;
  @ApiProperty({ enum: ['chat.completion.chunk'] })
  object: 'chat.completion.chunk';
  @ApiProperty({ description: 'Unix seconds' })
  created: number;
  @ApiProperty()
  model: string;
  @ApiProperty({ type: [ChunkChoiceDto], description: 'Empty on the usage chunk' })
  choices: ChunkChoiceDto[];
  @ApiPropertyOptional({ type: CompletionUsageDto, nullable: true, description: 'With stream_options.include_usage: null, then the totals on the last chunk' })
  usage?: CompletionUsageDto | null;
}

export class GatewayModelDto {
  @ApiProperty({ example: 'claude-sonnet' })
  id: string;
  @ApiProperty({ enum: ['model'] })
  object: 'model';
  @ApiProperty({ description: 'Unix seconds' })
  created: number;
  @ApiProperty({ example: 'anthropic', description: 'The provider serving it' })
  owned_by: string;
}

export class GatewayModelListDto {
  @ApiProperty({ enum: ['list'] })
  object: 'list';
  @ApiProperty({ type: [GatewayModelDto] })
  data: GatewayModelDto[];
}

export class ConversationDto {
  @ApiProperty({ format: 'uuid', description: 'Also the id of the Parley thread holding the transcript' })
  id: string;
  @ApiProperty({ enum: ['conversation'] })
  object: 'conversation';
  @ApiProperty()
  title: string;
  @ApiProperty({ description: 'Unix seconds' })
  created_at: number;
  @ApiProperty({ description: 'Unix seconds' })
  updated_at: number;
  @ApiProperty()
  message_count: number;
}

export class OpenAIErrorDetailDto {
  @ApiProperty()
  message: string;
  @ApiProperty({ example: 'invalid_request_error' })
  type: string;
  @ApiProperty({ type: String, nullable: true })
  param: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'model_not_found' })
  code: string | null;
}

export class OpenAIErrorDto {
  @ApiProperty({ type: OpenAIErrorDetailDto })
  error: OpenAIErrorDetailDto;
}
