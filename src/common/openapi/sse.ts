import { Type } from '@nestjs/common';
import { ApiProperty, getSchemaPath, type ReferenceObject, type SchemaObject } from '@nestjs/swagger';

/**
 * OpenAPI 3.0 cannot type the frames of a `text/event-stream`. The media type carries
 * `x-sse-events`: SSE event name → JSON schema of its `data:` payload (`message` is the
 * name of frames sent without `event:`), so docs, clients and the e2e response
 * validator know each event's shape. Models named there must be registered with
 * ApiExtraModels.
 */
export const SSE_EVENTS_KEY = 'x-sse-events';

export type SseEvents = Record<string, Type<unknown> | SchemaObject | ReferenceObject>;

export function sseMediaType(description: string, events: SseEvents, example?: string): Record<string, unknown> {
  const schemas = Object.fromEntries(
    Object.entries(events).map(([name, model]) => [name, typeof model === 'function' ? { $ref: getSchemaPath(model) } : model]),
  );
  return {
    schema: { type: 'string', description, ...(example ? { example } : {}) },
    [SSE_EVENTS_KEY]: schemas,
  };
}

/** The models an `x-sse-events` map refers to, for ApiExtraModels. */
export function sseModels(events: SseEvents): Array<Type<unknown>> {
  return Object.values(events).filter((m): m is Type<unknown> => typeof m === 'function');
}

/** `event: error` of the model-load and /api/llm streams: a failure after the stream started. */
export class StreamErrorEventDto {
  @ApiProperty({ example: 'PROVIDER_UNAVAILABLE', description: 'An ErrorCode' })
  code: string;
  @ApiProperty()
  message: string;
}
