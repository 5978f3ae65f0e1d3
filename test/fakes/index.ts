export * from './fake-upstream';
export { FakeOpenAI } from './fake-openai';
export { FakeAnthropic } from './fake-anthropic';
export { FakeGemini, shareUndiciDispatcher } from './fake-gemini';
export { FakeOllama, OllamaScript, ollamaTag } from './fake-ollama';
