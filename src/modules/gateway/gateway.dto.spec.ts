import { ArgumentMetadata } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { createValidationPipe } from '../../common/errors/validation';
import { ChatCompletionRequestDto } from './gateway.dto';

const pipe = createValidationPipe({ forbidUnknownFields: false, expectedType: ChatCompletionRequestDto });
const metadata: ArgumentMetadata = { type: 'body', metatype: ChatCompletionRequestDto, data: '' };
const user = [{ role: 'user', content: 'hi' }];

/** The fields a body is refused for, or [] when it is accepted. */
async function refusedFields(body: object): Promise<string[]> {
  try {
    await pipe.transform({ model: 'm', ...body }, metadata);
    return [];
  } catch (error) {
    if (!(error instanceof AppException)) throw error;
    return Object.keys((error.details as { fields: Record<string, string[]> }).fields);
  }
}

describe('ChatCompletionRequestDto (tools, response formats, tool messages)', () => {
  it('accepts a tool round trip with images, tools, a named tool_choice and a json_schema format', async () => {
    expect(
      await refusedFields({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
          { role: 'assistant', function_call: { name: 'f', arguments: '{}' } },
          { role: 'function', name: 'f', content: 'ok' },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        parallel_tool_calls: false,
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      }),
    ).toEqual([]);
  });

  it('keeps a tool schema whole (nested keys are not stripped as unknown fields)', async () => {
    const parameters = { type: 'object', properties: { a: { type: 'string', enum: ['x'] } }, required: ['a'], additionalProperties: false };
    const dto = (await pipe.transform({ model: 'm', messages: user, tools: [{ type: 'function', function: { name: 'f', parameters } }] }, metadata)) as ChatCompletionRequestDto;
    expect(dto.tools![0].function.parameters).toEqual(parameters);
  });

  it.each([
    [{ tools: 'f' }, 'tools'],
    [{ tools: [null] }, 'tools.0'],
    [{ tools: [{ type: 'function', function: 'f' }] }, 'tools.0.function'],
    [{ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 7 }, 'tool_choice'],
    [{ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function' } }, 'tool_choice'],
    [{ function_call: ['f'] }, 'function_call'],
    [{ response_format: 'json' }, 'response_format'],
    [{ messages: [{ role: 'user', content: [null] }] }, 'messages.0.content'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: null }] }] }, 'messages.0.content'],
    [{ messages: [{ role: 'user', content: [] }] }, 'messages.0.content'],
    [{ messages: [{ role: 'assistant', content: null, tool_calls: 'x' }] }, 'messages.0.tool_calls'],
    [{ messages: [{ role: 'function', content: 'x' }] }, 'messages.0.name'],
  ])('refuses %j naming %s, without throwing anything else', async (body, field) => {
    expect(await refusedFields({ messages: user, ...body })).toContain(field);
  });
});
