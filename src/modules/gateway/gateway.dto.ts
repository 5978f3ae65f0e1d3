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
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';

/** A function's name as OpenAI allows it. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const TOOL_NAME_MESSAGE = '$property must be 1 to 64 letters, digits, underscores or dashes';
/** OpenAI's limit on tools (and legacy functions) per request. */
export const MAX_TOOLS = 128;

type Part = { type?: unknown; text?: unknown; image_url?: { url?: unknown } };

/** Why a content part cannot be taken, or undefined when it can. */
function partProblem(part: unknown, role: unknown): string | undefined {
  if (typeof part !== 'object' || part === null) return 'each content part must be an object';
  const p = part as Part;
  if (p.type === 'text') return typeof p.text === 'string' ? undefined : 'a text part needs a string text';
  if (p.type === 'image_url') {
    if (role !== 'user') return 'image parts are only allowed in user messages';
    const url = p.image_url?.url;
    if (typeof url !== 'string') return 'an image_url part needs image_url.url';
    // The image itself (type, size, address) is checked when it is loaded.
    return /^(data:|https?:\/\/)/i.test(url.trim()) ? undefined : 'image_url.url must be a data: URL or an http(s) URL of an image';
  }
  return 'content parts must be text or image_url parts (audio and files are not supported)';
}

/** Why a message's content cannot be taken, or undefined when it can. */
function contentProblem(value: unknown, message: GatewayMessageDto): string | undefined {
  if (value === null || value === undefined) {
    const calls = message.role === 'assistant' && (message.tool_calls?.length || message.function_call);
    return calls ? undefined : 'content is required (it may be null only in an assistant message with tool_calls)';
  }
  if (typeof value === 'string') return undefined;
  if (!Array.isArray(value) || !value.length) return 'content must be a string or a non-empty array of content parts';
  for (const part of value) {
    const problem = partProblem(part, message.role);
    if (problem) return problem;
  }
  return undefined;
}

/** `content` as OpenAI takes it: a string, text parts, image parts (user messages); null beside tool calls. */
function IsMessageContent(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isMessageContent',
      validator: {
        validate: (value: unknown, args) => !contentProblem(value, args?.object as GatewayMessageDto),
        defaultMessage: (args) => contentProblem(args?.value, args?.object as GatewayMessageDto) ?? 'invalid content',
      },
    },
    options,
  );
}

/** The names a request declares, as tools or as legacy functions. */
function declaredNames(dto: ChatCompletionRequestDto): string[] {
  const tools = Array.isArray(dto.tools) ? dto.tools.map((t) => t?.function?.name) : [];
  const functions = Array.isArray(dto.functions) ? dto.functions.map((f) => f?.name) : [];
  return [...tools, ...functions].filter((n): n is string => typeof n === 'string');
}

/** Why a `tool_choice` (or legacy `function_call`) cannot be taken, or undefined when it can. */
function choiceProblem(value: unknown, dto: ChatCompletionRequestDto, legacy: boolean): string | undefined {
  const modes = legacy ? ['none', 'auto'] : ['none', 'auto', 'required'];
  const declared = declaredNames(dto);
  const what = legacy ? 'functions' : 'tools';
  if (typeof value === 'string') {
    if (!modes.includes(value)) return `$property must be ${modes.join(', ')} or a named ${legacy ? 'function' : 'tool'}`;
    return value === 'required' && !declared.length ? `$property "required" needs ${what}` : undefined;
  }
  const named = value as { type?: unknown; name?: unknown; function?: { name?: unknown } } | null;
  const name = legacy ? named?.name : named?.type === 'function' ? named.function?.name : undefined;
  if (typeof name !== 'string') {
    return legacy ? '$property must be none, auto or {"name": …}' : '$property must be none, auto, required or {"type":"function","function":{"name":…}}';
  }
  return declared.includes(name) ? undefined : `$property names ${name}, which is not one of the ${what} of this request`;
}

function IsToolChoice(legacy: boolean, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: legacy ? 'isFunctionCall' : 'isToolChoice',
      validator: {
        validate: (value: unknown, args) => !choiceProblem(value, args?.object as ChatCompletionRequestDto, legacy),
        defaultMessage: (args) => choiceProblem(args?.value, args?.object as ChatCompletionRequestDto, legacy) ?? 'invalid $property',
      },
    },
    options,
  );
}

/** Legacy `functions` beside `tools`: one or the other. */
function NotWithTools(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'notWithTools',
      validator: {
        validate: (value: unknown, args) => !value || !(args?.object as ChatCompletionRequestDto).tools?.length,
        defaultMessage: () => 'send tools or the legacy functions, not both',
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

export const GATEWAY_ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

export class TextPartDto {
  @ApiProperty({ enum: ['text'] })
  type: 'text';
  @ApiProperty()
  text: string;
}

export class ImageUrlDto {
  @ApiProperty({
    description: 'A base64 data: URL (`data:image/png;base64,…`) or a public http(s) URL, which Parley fetches (PNG, JPEG, GIF or WebP, IMAGE_FETCH_MAX_BYTES at most)',
  })
  url: string;
  /** Accepted and ignored. */
  @ApiPropertyOptional({ enum: ['auto', 'low', 'high'] })
  detail?: 'auto' | 'low' | 'high';
}

export class ImagePartDto {
  @ApiProperty({ enum: ['image_url'] })
  type: 'image_url';
  @ApiProperty({ type: ImageUrlDto })
  image_url: ImageUrlDto;
}

export class FunctionCallDto {
  @ApiProperty({ example: 'get_weather' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  name: string;

  @ApiProperty({ description: 'The arguments as JSON text, as the model wrote them', example: '{"city":"Paris"}' })
  @IsString()
  arguments: string;
}

export class MessageToolCallDto {
  @ApiProperty({ example: 'call_abc123' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  id: string;

  @ApiProperty({ enum: ['function'] })
  @IsIn(['function'])
  type: 'function';

  @ApiProperty({ type: FunctionCallDto })
  @IsObject()
  @ValidateNested()
  @Type(() => FunctionCallDto)
  function: FunctionCallDto;
}

const CONTENT_SCHEMA = {
  nullable: true,
  oneOf: [
    { type: 'string' },
    { type: 'array', items: { oneOf: [{ $ref: '#/components/schemas/TextPartDto' }, { $ref: '#/components/schemas/ImagePartDto' }] } },
  ],
  description: 'Text, or text and (user messages) image parts (data: or http(s) URLs); null only in an assistant message with tool_calls',
} as unknown as ApiPropertyOptions;

export class GatewayMessageDto {
  @ApiProperty({
    enum: GATEWAY_ROLES,
    description: '`developer` is treated as `system`; `tool` answers a tool call (tool_call_id); `function` is the legacy form of `tool` (name)',
  })
  @IsIn(GATEWAY_ROLES, { message: 'role must be system, developer, user, assistant, tool or function' })
  role: (typeof GATEWAY_ROLES)[number];

  @ApiProperty(CONTENT_SCHEMA)
  @IsMessageContent()
  content?: string | Array<TextPartDto | ImagePartDto> | null;

  @ApiPropertyOptional({ nullable: true, maxLength: 256, description: 'For `function` messages, the function that answered; otherwise accepted and ignored' })
  @ValidateIf((m: GatewayMessageDto) => m.role === 'function' || (m.name !== undefined && m.name !== null))
  @IsString()
  @MaxLength(256)
  name?: string | null;

  @ApiPropertyOptional({ type: [MessageToolCallDto], nullable: true, description: 'The calls an assistant message made' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TOOLS)
  @ValidateNested({ each: true })
  @Type(() => MessageToolCallDto)
  tool_calls?: MessageToolCallDto[] | null;

  @ApiPropertyOptional({ nullable: true, maxLength: 256, description: 'For `tool` messages (required): the call this result answers' })
  @ValidateIf((m: GatewayMessageDto) => m.role === 'tool' || (m.tool_call_id !== undefined && m.tool_call_id !== null))
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  tool_call_id?: string | null;

  @ApiPropertyOptional({ type: FunctionCallDto, nullable: true, deprecated: true, description: 'Legacy form of tool_calls (one call)' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => FunctionCallDto)
  function_call?: FunctionCallDto | null;
}

export class FunctionDefinitionDto {
  @ApiProperty({ pattern: TOOL_NAME.source, example: 'get_weather' })
  @IsString()
  @Matches(TOOL_NAME, { message: TOOL_NAME_MESSAGE })
  name: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: "The arguments' JSON Schema" })
  @IsOptional()
  @IsObject()
  parameters?: Record<string, unknown> | null;

  @ApiPropertyOptional({ nullable: true, description: 'Strict schema adherence (OpenAI models; other providers ignore it)' })
  @IsOptional()
  @IsBoolean()
  strict?: boolean | null;
}

export class ToolDto {
  @ApiProperty({ enum: ['function'] })
  @IsIn(['function'], { message: 'type must be function' })
  type: 'function';

  @ApiProperty({ type: FunctionDefinitionDto })
  @IsObject()
  @ValidateNested()
  @Type(() => FunctionDefinitionDto)
  function: FunctionDefinitionDto;
}

export class NamedToolChoiceFunctionDto {
  @ApiProperty()
  name: string;
}

export class NamedToolChoiceDto {
  @ApiProperty({ enum: ['function'] })
  type: 'function';
  @ApiProperty({ type: NamedToolChoiceFunctionDto })
  function: NamedToolChoiceFunctionDto;
}

export class JsonSchemaFormatDto {
  @ApiProperty({ pattern: TOOL_NAME.source })
  @IsString()
  @Matches(TOOL_NAME, { message: TOOL_NAME_MESSAGE })
  name: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsString()
  description?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: 'The JSON Schema the answer follows; absent: any JSON object' })
  @IsOptional()
  @IsObject()
  schema?: Record<string, unknown> | null;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @IsBoolean()
  strict?: boolean | null;
}

export class ResponseFormatDto {
  @ApiProperty({ enum: ['text', 'json_object', 'json_schema'] })
  @IsIn(['text', 'json_object', 'json_schema'], { message: 'type must be text, json_object or json_schema' })
  type: 'text' | 'json_object' | 'json_schema';

  @ApiPropertyOptional({ type: JsonSchemaFormatDto, description: 'Required with type json_schema' })
  @ValidateIf((f: ResponseFormatDto) => f.type === 'json_schema')
  @IsObject()
  @ValidateNested()
  @Type(() => JsonSchemaFormatDto)
  json_schema?: JsonSchemaFormatDto;
}

export class StreamOptionsDto {
  @ApiPropertyOptional({ nullable: true, description: 'Send a last chunk with `usage` (and `usage: null` on the others)' })
  @IsOptional()
  @IsBoolean()
  include_usage?: boolean | null;
}

/**
 * OpenAI's Chat Completions request. Mapped: model, messages (text, data: URL images, tool
 * calls and results), stream, stream_options, temperature, top_p, max_tokens /
 * max_completion_tokens, stop, tools / tool_choice / parallel_tool_calls (and the legacy
 * functions / function_call), response_format. `n` must be 1. A provider that cannot honour
 * tools, response_format or images refuses them with a 400 naming the parameter. Every other
 * OpenAI parameter (frequency/presence penalties, seed, logit_bias, logprobs, user,
 * metadata, store…) is dropped. README's Gateway section has the table per provider.
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

  @ApiPropertyOptional({ type: [ToolDto], nullable: true, maxItems: MAX_TOOLS, description: 'Functions the model may call' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TOOLS)
  @ValidateNested({ each: true })
  @Type(() => ToolDto)
  tools?: ToolDto[] | null;

  @ApiPropertyOptional({
    nullable: true,
    oneOf: [{ type: 'string', enum: ['none', 'auto', 'required'] }, { $ref: '#/components/schemas/NamedToolChoiceDto' }],
    description: 'A named tool must be one of `tools`',
  } as unknown as ApiPropertyOptions)
  @IsOptional()
  @IsToolChoice(false)
  tool_choice?: 'none' | 'auto' | 'required' | NamedToolChoiceDto | null;

  @ApiPropertyOptional({ nullable: true, description: 'false: at most one tool call per answer' })
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  @ApiPropertyOptional({ type: [FunctionDefinitionDto], nullable: true, maxItems: MAX_TOOLS, deprecated: true, description: 'Legacy form of tools' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_TOOLS)
  @NotWithTools()
  @ValidateNested({ each: true })
  @Type(() => FunctionDefinitionDto)
  functions?: FunctionDefinitionDto[] | null;

  @ApiPropertyOptional({
    nullable: true,
    deprecated: true,
    oneOf: [{ type: 'string', enum: ['none', 'auto'] }, { $ref: '#/components/schemas/NamedToolChoiceFunctionDto' }],
    description: 'Legacy form of tool_choice',
  } as unknown as ApiPropertyOptions)
  @IsOptional()
  @IsToolChoice(true)
  function_call?: 'none' | 'auto' | NamedToolChoiceFunctionDto | null;

  @ApiPropertyOptional({ type: ResponseFormatDto, nullable: true, description: 'text, json_object (any JSON object) or json_schema (this schema)' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ResponseFormatDto)
  response_format?: ResponseFormatDto | null;

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

export class PromptTokensDetailsDto {
  @ApiPropertyOptional({ description: 'Prompt tokens served from the provider\'s prompt cache' })
  cached_tokens?: number;
}

export class CompletionTokensDetailsDto {
  @ApiPropertyOptional({ description: 'Completion tokens spent on reasoning' })
  reasoning_tokens?: number;
}

export class CompletionUsageDto {
  @ApiProperty()
  prompt_tokens: number;
  @ApiProperty()
  completion_tokens: number;
  @ApiProperty()
  total_tokens: number;
  @ApiPropertyOptional({ type: PromptTokensDetailsDto, description: 'When the provider reported cached prompt tokens' })
  prompt_tokens_details?: PromptTokensDetailsDto;
  @ApiPropertyOptional({ type: CompletionTokensDetailsDto, description: 'When the provider reported reasoning tokens' })
  completion_tokens_details?: CompletionTokensDetailsDto;
}

export class AssistantMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role: 'assistant';
  @ApiProperty({ type: String, nullable: true, description: 'null when the answer is only tool calls' })
  content: string | null;
  @ApiProperty({ type: String, nullable: true })
  refusal: string | null;
  @ApiPropertyOptional({ type: [MessageToolCallDto], description: 'The calls the model made (finish_reason tool_calls)' })
  tool_calls?: MessageToolCallDto[];
  @ApiPropertyOptional({ type: FunctionCallDto, deprecated: true, description: 'Instead of tool_calls when the request used the legacy functions' })
  function_call?: FunctionCallDto;
}

const FINISH_REASONS = ['stop', 'length', 'content_filter', 'tool_calls', 'function_call'] as const;
type WireFinishReason = (typeof FINISH_REASONS)[number];

export class ChoiceDto {
  @ApiProperty()
  index: number;
  @ApiProperty({ type: AssistantMessageDto })
  message: AssistantMessageDto;
  @ApiProperty({ enum: FINISH_REASONS })
  finish_reason: WireFinishReason;
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

export class ChunkFunctionDto {
  @ApiPropertyOptional({ description: "On a call's first delta" })
  name?: string;
  @ApiPropertyOptional({ description: 'The next piece of the arguments JSON (empty on the first delta)' })
  arguments?: string;
}

export class ChunkToolCallDto {
  @ApiProperty({ description: "The call's position in the answer" })
  index: number;
  @ApiPropertyOptional({ description: "On a call's first delta" })
  id?: string;
  @ApiPropertyOptional({ enum: ['function'], description: "On a call's first delta" })
  type?: 'function';
  @ApiPropertyOptional({ type: ChunkFunctionDto })
  function?: ChunkFunctionDto;
}

export class ChunkDeltaDto {
  @ApiPropertyOptional({ enum: ['assistant'], description: 'On the first chunk only' })
  role?: 'assistant';
  @ApiPropertyOptional()
  content?: string;
  @ApiPropertyOptional({ type: [ChunkToolCallDto], description: 'Tool calls as OpenAI streams them: id, type and name first, then arguments in pieces' })
  tool_calls?: ChunkToolCallDto[];
  @ApiPropertyOptional({ type: ChunkFunctionDto, deprecated: true, description: 'Instead of tool_calls when the request used the legacy functions' })
  function_call?: ChunkFunctionDto;
}

export class ChunkChoiceDto {
  @ApiProperty()
  index: number;
  @ApiProperty({ type: ChunkDeltaDto })
  delta: ChunkDeltaDto;
  @ApiProperty({ type: String, enum: FINISH_REASONS, nullable: true })
  finish_reason: WireFinishReason | null;
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
