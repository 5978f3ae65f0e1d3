import OpenAI from 'openai';

/** What the tool e2e suites ask for and script, the same on every provider. */

export const WEATHER: OpenAI.Chat.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The calls the fakes are scripted to make. */
export const CALLS = [
  { id: 'call_paris1', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { id: 'call_rome22', name: 'get_weather', arguments: '{"city":"Rome"}' },
];

export const CITY_SCHEMA = { type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } }, required: ['city', 'celsius'], additionalProperties: false };

/** A conversation in which the model called a tool and got its result back: what each upstream must receive in its own format. */
export const TOOL_ROUND_TRIP: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_paris1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
  { role: 'tool', tool_call_id: 'call_paris1', content: '18°C, sunny' },
];
