import { ApiProperty, ApiPropertyOptional, getSchemaPath, type ApiPropertyOptions } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsNumber, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateBy, ValidationOptions } from 'class-validator';

/** `input`: a string, or a list of at most 2,000 items (each item is checked by responses-wire.ts, naming it). */
function IsResponseInput(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isResponseInput',
      validator: {
        validate: (value: unknown) => typeof value === 'string' || (Array.isArray(value) && value.length >= 1 && value.length <= 2000),
        defaultMessage: () => 'input must be a string or an array of 1 to 2000 input items',
      },
    },
    options,
  );
}

/** metadata: at most 16 string values (keys up to 64 characters, values up to 512). */
function IsMetadata(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length <= 16 &&
          Object.entries(value).every(([k, v]) => k.length <= 64 && typeof v === 'string' && v.length <= 512),
        defaultMessage: () => 'metadata must be an object of at most 16 string values (keys up to 64, values up to 512 characters)',
      },
    },
    options,
  );
}

const ANY_OBJECT = { type: 'object', additionalProperties: true } as const;
const ref = (model: string) => ({ $ref: `#/components/schemas/${model}` });

// ---- request (documentation of the input items; responses-wire.ts checks them) ---------

export class ResponseInputTextPartDto {
  @ApiProperty({ enum: ['input_text', 'output_text'], description: '`output_text` in assistant messages' })
  type: 'input_text' | 'output_text';
  @ApiProperty()
  text: string;
}

export class ResponseInputImagePartDto {
  @ApiProperty({ enum: ['input_image'] })
  type: 'input_image';
  @ApiProperty({ description: 'A base64 data: URL (`data:image/png;base64,…`); file ids and web URLs are refused' })
  image_url: string;
  /** Accepted and ignored. */
  @ApiPropertyOptional({ enum: ['auto', 'low', 'high'] })
  detail?: 'auto' | 'low' | 'high';
}

export class ResponseInputMessageDto {
  @ApiPropertyOptional({ enum: ['message'] })
  type?: 'message';
  @ApiProperty({ enum: ['user', 'system', 'developer', 'assistant'], description: '`developer` is treated as `system`' })
  role: 'user' | 'system' | 'developer' | 'assistant';
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { oneOf: [ref('ResponseInputTextPartDto'), ref('ResponseInputImagePartDto')] } }],
    description: 'Text, or content parts (images in user messages only)',
  } as unknown as ApiPropertyOptions)
  content: string | Array<ResponseInputTextPartDto | ResponseInputImagePartDto>;
}

export class ResponseFunctionCallInputDto {
  @ApiProperty({ enum: ['function_call'] })
  type: 'function_call';
  @ApiProperty({ example: 'call_abc123' })
  call_id: string;
  @ApiProperty({ example: 'get_weather' })
  name: string;
  @ApiProperty({ description: 'JSON text', example: '{"city":"Paris"}' })
  arguments: string;
}

export class ResponseFunctionCallOutputInputDto {
  @ApiProperty({ enum: ['function_call_output'] })
  type: 'function_call_output';
  @ApiProperty({ example: 'call_abc123', description: 'The call this output answers (in this input or the previous response)' })
  call_id: string;
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: ref('ResponseInputTextPartDto') }] } as unknown as ApiPropertyOptions)
  output: string | ResponseInputTextPartDto[];
}

export class ResponseItemReferenceDto {
  @ApiPropertyOptional({ enum: ['item_reference'] })
  type?: 'item_reference';
  @ApiProperty({ description: 'The id of an output item of a response stored for you', example: 'msg_3f1c…_0' })
  id: string;
}

export const RESPONSE_INPUT_ITEM_MODELS = [
  ResponseInputTextPartDto,
  ResponseInputImagePartDto,
  ResponseInputMessageDto,
  ResponseFunctionCallInputDto,
  ResponseFunctionCallOutputInputDto,
  ResponseItemReferenceDto,
];

export class ResponseFunctionToolDto {
  @ApiProperty({ enum: ['function'], description: 'Only function tools are supported' })
  type: 'function';
  @ApiProperty({ example: 'get_weather', pattern: '^[a-zA-Z0-9_-]{1,64}$' })
  name: string;
  @ApiPropertyOptional({ type: String, nullable: true })
  description?: string | null;
  @ApiPropertyOptional({ ...ANY_OBJECT, nullable: true, description: 'JSON Schema of the arguments' } as ApiPropertyOptions)
  parameters?: Record<string, unknown> | null;
  @ApiPropertyOptional({ type: Boolean, nullable: true })
  strict?: boolean | null;
}

export class ResponseToolChoiceFunctionDto {
  @ApiProperty({ enum: ['function'] })
  type: 'function';
  @ApiProperty()
  name: string;
}

export class ResponseTextFormatDto {
  @ApiProperty({ enum: ['text', 'json_object', 'json_schema'] })
  type: 'text' | 'json_object' | 'json_schema';
  @ApiPropertyOptional({ description: 'json_schema: the schema name', pattern: '^[a-zA-Z0-9_-]{1,64}$' })
  name?: string;
  @ApiPropertyOptional({ ...ANY_OBJECT, description: 'json_schema: the JSON Schema the answer follows' } as ApiPropertyOptions)
  schema?: Record<string, unknown>;
  @ApiPropertyOptional()
  description?: string;
  @ApiPropertyOptional({ type: Boolean, nullable: true })
  strict?: boolean | null;
}

export class ResponseTextConfigDto {
  @ApiPropertyOptional({ type: ResponseTextFormatDto })
  format?: ResponseTextFormatDto;
}

const TOOL_CHOICE_SCHEMA = {
  oneOf: [{ type: 'string', enum: ['none', 'auto', 'required'] }, ref('ResponseToolChoiceFunctionDto')],
} as unknown as ApiPropertyOptions;

/**
 * OpenAI's Responses request. Mapped: model, input, instructions, tools (function tools),
 * tool_choice, parallel_tool_calls, text.format, temperature, top_p, max_output_tokens,
 * previous_response_id, store, stream, metadata. Other OpenAI parameters (reasoning,
 * include, truncation, user, service_tier…) are dropped.
 */
export class CreateResponseRequestDto {
  @ApiProperty({ example: 'gpt-5.4-mini', description: "A catalog model id (GET /v1/models) or the provider's own model name" })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  model: string;

  @ApiProperty({
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        maxItems: 2000,
        items: { oneOf: [ref('ResponseInputMessageDto'), ref('ResponseFunctionCallInputDto'), ref('ResponseFunctionCallOutputInputDto'), ref('ResponseItemReferenceDto')] },
      },
    ],
    description: 'A user message as a string, or input items: messages, function calls and their outputs, item references',
  } as unknown as ApiPropertyOptions)
  @IsResponseInput()
  input: string | unknown[];

  @ApiPropertyOptional({ type: String, nullable: true, description: 'A system message placed before the input (not carried over by previous_response_id)' })
  @IsOptional()
  @IsString()
  instructions?: string | null;

  @ApiPropertyOptional({ type: [ResponseFunctionToolDto], nullable: true, description: 'Function tools; other tool types are refused' })
  @IsOptional()
  tools?: unknown[] | null;

  @ApiPropertyOptional({ ...TOOL_CHOICE_SCHEMA, nullable: true } as ApiPropertyOptions)
  @IsOptional()
  tool_choice?: unknown;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'false: at most one function call per answer' })
  @IsOptional()
  @IsBoolean()
  parallel_tool_calls?: boolean | null;

  @ApiPropertyOptional({ type: ResponseTextConfigDto, nullable: true })
  @IsOptional()
  @IsObject()
  text?: unknown;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: 2 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  top_p?: number | null;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_output_tokens?: number | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'A response stored for you: its input and output come before this input', example: 'resp_3f1c…' })
  @IsOptional()
  @IsString()
  @Matches(/^resp_[0-9a-zA-Z]{1,100}$/, { message: 'previous_response_id must be a response id (resp_…)' })
  previous_response_id?: string | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'Default true: keep the response for GET /v1/responses/{id} and previous_response_id' })
  @IsOptional()
  @IsBoolean()
  store?: boolean | null;

  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'Default false (one response object); true: text/event-stream of response events' })
  @IsOptional()
  @IsBoolean()
  stream?: boolean | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, nullable: true, description: 'Echoed back and stored' } as ApiPropertyOptions)
  @IsOptional()
  @IsMetadata()
  metadata?: Record<string, string> | null;
}

export class ResponseIdParamDto {
  @ApiProperty({ example: 'resp_3f1c…' })
  @IsString()
  @Matches(/^resp_[0-9a-zA-Z]{1,100}$/, { message: 'id must be a response id (resp_…)' })
  id: string;
}

// ---- response -----------------------------------------------------------------------------

export class ResponseOutputTextDto {
  @ApiProperty({ enum: ['output_text'] })
  type: 'output_text';
  @ApiProperty()
  text: string;
  @ApiProperty({ type: 'array', items: ANY_OBJECT, maxItems: 0, description: 'Always empty' } as ApiPropertyOptions)
  annotations: unknown[];
}

export class ResponseOutputMessageDto {
  @ApiProperty({ enum: ['message'] })
  type: 'message';
  @ApiProperty({ example: 'msg_3f1c…_0' })
  id: string;
  @ApiProperty({ enum: ['assistant'] })
  role: 'assistant';
  @ApiProperty({ enum: ['in_progress', 'completed', 'incomplete'] })
  status: 'in_progress' | 'completed' | 'incomplete';
  @ApiProperty({ type: [ResponseOutputTextDto] })
  content: ResponseOutputTextDto[];
}

export class ResponseFunctionCallDto {
  @ApiProperty({ enum: ['function_call'] })
  type: 'function_call';
  @ApiProperty({ example: 'fc_3f1c…_1' })
  id: string;
  @ApiProperty({ example: 'call_abc123', description: 'Answer it with a function_call_output of this call_id' })
  call_id: string;
  @ApiProperty({ example: 'get_weather' })
  name: string;
  @ApiProperty({ description: 'JSON text, as the model wrote it', example: '{"city":"Paris"}' })
  arguments: string;
  @ApiProperty({ enum: ['in_progress', 'completed', 'incomplete'] })
  status: 'in_progress' | 'completed' | 'incomplete';
}

const OUTPUT_ITEM_SCHEMA = { oneOf: [ref('ResponseOutputMessageDto'), ref('ResponseFunctionCallDto')] };

export class ResponseInputTokensDetailsDto {
  @ApiProperty()
  cached_tokens: number;
  @ApiProperty({ description: 'Always 0' })
  cache_write_tokens: number;
}

export class ResponseOutputTokensDetailsDto {
  @ApiProperty()
  reasoning_tokens: number;
}

export class ResponseUsageDto {
  @ApiProperty()
  input_tokens: number;
  @ApiProperty({ type: ResponseInputTokensDetailsDto })
  input_tokens_details: ResponseInputTokensDetailsDto;
  @ApiProperty()
  output_tokens: number;
  @ApiProperty({ type: ResponseOutputTokensDetailsDto })
  output_tokens_details: ResponseOutputTokensDetailsDto;
  @ApiProperty()
  total_tokens: number;
}

export class ResponseErrorInfoDto {
  @ApiProperty({ example: 'server_error', description: 'rate_limit_exceeded or server_error' })
  code: string;
  @ApiProperty()
  message: string;
}

export class ResponseIncompleteDetailsDto {
  @ApiProperty({ enum: ['max_output_tokens', 'content_filter'] })
  reason: 'max_output_tokens' | 'content_filter';
}

/** OpenAI's `Response` object: the answer, with the request's settings echoed. */
export class ResponseObjectDto {
  @ApiProperty({ example: 'resp_3f1c…' })
  id: string;
  @ApiProperty({ enum: ['response'] })
  object: 'response';
  @ApiProperty({ description: 'Unix seconds' })
  created_at: number;
  @ApiProperty({ enum: ['in_progress', 'completed', 'incomplete', 'failed'] })
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds' })
  completed_at: number | null;
  @ApiProperty({ type: ResponseErrorInfoDto, nullable: true })
  error: ResponseErrorInfoDto | null;
  @ApiProperty({ type: ResponseIncompleteDetailsDto, nullable: true })
  incomplete_details: ResponseIncompleteDetailsDto | null;
  @ApiProperty({ type: String, nullable: true })
  instructions: string | null;
  @ApiProperty({ type: Number, nullable: true })
  max_output_tokens: number | null;
  @ApiProperty()
  model: string;
  @ApiProperty({ type: 'array', items: OUTPUT_ITEM_SCHEMA } as ApiPropertyOptions)
  output: Array<ResponseOutputMessageDto | ResponseFunctionCallDto>;
  @ApiProperty({ description: 'The text of every output message, joined' })
  output_text: string;
  @ApiProperty()
  parallel_tool_calls: boolean;
  @ApiProperty({ type: String, nullable: true })
  previous_response_id: string | null;
  @ApiProperty({ type: Number, nullable: true })
  temperature: number | null;
  @ApiProperty({ type: ResponseTextConfigDto })
  text: ResponseTextConfigDto;
  @ApiProperty(TOOL_CHOICE_SCHEMA)
  tool_choice: string | ResponseToolChoiceFunctionDto;
  @ApiProperty({ type: [ResponseFunctionToolDto] })
  tools: ResponseFunctionToolDto[];
  @ApiProperty({ type: Number, nullable: true })
  top_p: number | null;
  @ApiProperty({ enum: ['disabled'] })
  truncation: 'disabled';
  @ApiPropertyOptional({ type: ResponseUsageDto, description: 'Absent until the answer is finished' })
  usage?: ResponseUsageDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, nullable: true } as ApiPropertyOptions)
  metadata: Record<string, string> | null;
  @ApiProperty({ type: 'object', nullable: true, enum: [null], description: 'Always null' } as unknown as ApiPropertyOptions)
  access_programs: null;
}

// ---- stream events (the `data:` of each `event: <type>` frame) ------------------------------

export class ResponseLifecycleEventDto {
  @ApiProperty({ enum: ['response.created', 'response.in_progress', 'response.completed', 'response.incomplete', 'response.failed'] })
  type: string;
  @ApiProperty()
  sequence_number: number;
  @ApiProperty({ type: ResponseObjectDto })
  response: ResponseObjectDto;
}

export class ResponseOutputItemEventDto {
  @ApiProperty({ enum: ['response.output_item.added', 'response.output_item.done'] })
  type: string;
  @ApiProperty()
  sequence_number: number;
  @ApiProperty()
  output_index: number;
  @ApiProperty(OUTPUT_ITEM_SCHEMA as ApiPropertyOptions)
  item: ResponseOutputMessageDto | ResponseFunctionCallDto;
}

export class ResponseContentPartEventDto {
  @ApiProperty({ enum: ['response.content_part.added', 'response.content_part.done'] })
  type: string;
  @ApiProperty()
  sequence_number: number;
  @ApiProperty()
  item_id: string;
  @ApiProperty()
  output_index: number;
  @ApiProperty()
  content_index: number;
  @ApiProperty({ type: ResponseOutputTextDto })
  part: ResponseOutputTextDto;
}

export class ResponseTextDeltaEventDto {
  @ApiProperty({ enum: ['response.output_text.delta'] })
  type: 'response.output_text.delta';
  @ApiProperty()
  sequence_number: number;
  @ApiProperty()
  item_id: string;
  @ApiProperty()
  output_index: number;
  @ApiProperty()
  content_index: number;
  @ApiProperty()
  delta: string;
  @ApiProperty({ type: 'array', items: ANY_OBJECT, maxItems: 0, description: 'Always empty' } as ApiPropertyOptions)
  logprobs: unknown[];
}

export class ResponseTextDoneEventDto {
  @ApiProperty({ enum: ['response.output_text.done'] })
  type: 'response.output_text.done';
  @ApiProperty()
  sequence_number: number;
  @ApiProperty()
  item_id: string;
  @ApiProperty()
  output_index: number;
  @ApiProperty()
  content_index: number;
  @ApiProperty({ description: 'The whole text of the part' })
  text: string;
  @ApiProperty({ type: 'array', items: ANY_OBJECT, maxItems: 0, description: 'Always empty' } as ApiPropertyOptions)
  logprobs: unknown[];
}

export class ResponseFunctionArgumentsDeltaEventDto {
  @ApiProperty({ enum: ['response.function_call_arguments.delta'] })
  type: 'response.function_call_arguments.delta';
  @ApiProperty()
  sequence_number: number;
  @ApiProperty()
  item_id: string;
  @ApiProperty()
  output_index: number;
  @ApiProperty()
  delta: string;
}

export class ResponseFunctionArgumentsDoneEventDto {
  @ApiProperty({ enum: ['response.function_call_arguments.done'] })
  type: 'response.function_call_arguments.done';
  @ApiProperty()
  sequence_number: number;
  @ApiProperty()
  item_id: string;
  @ApiProperty()
  output_index: number;
  @ApiProperty({ description: 'The whole arguments JSON text' })
  arguments: string;
}

/** SSE event name → the DTO of its `data:` (the event name is also the payload's `type`). */
export const RESPONSE_STREAM_EVENTS = {
  'response.created': ResponseLifecycleEventDto,
  'response.in_progress': ResponseLifecycleEventDto,
  'response.output_item.added': ResponseOutputItemEventDto,
  'response.content_part.added': ResponseContentPartEventDto,
  'response.output_text.delta': ResponseTextDeltaEventDto,
  'response.output_text.done': ResponseTextDoneEventDto,
  'response.content_part.done': ResponseContentPartEventDto,
  'response.function_call_arguments.delta': ResponseFunctionArgumentsDeltaEventDto,
  'response.function_call_arguments.done': ResponseFunctionArgumentsDoneEventDto,
  'response.output_item.done': ResponseOutputItemEventDto,
  'response.completed': ResponseLifecycleEventDto,
  'response.incomplete': ResponseLifecycleEventDto,
  'response.failed': ResponseLifecycleEventDto,
};

export const responseSchemaRef = () => ({ $ref: getSchemaPath(ResponseObjectDto) });
