export { CookieJar, createParleyClient, type ErrorEnvelope, type Fetch, type ParleyClient, type ParleyClientOptions, type Schemas } from './client.js';
export { AnswerStream, ParleyStreamError, resumeMessage, streamMessage, type AnswerEvent, type AnswerEventData, type AnswerEventName, type AnswerStreamOptions } from './sse.js';
export type { components, operations, paths } from './schema.js';
