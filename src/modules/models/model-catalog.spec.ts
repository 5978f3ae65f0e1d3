import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalog, readCatalogFile, SHIPPED_CATALOG } from './model-catalog';

const dir = mkdtempSync(join(tmpdir(), 'parley-catalog-'));
function file(content: unknown): string {
  const path = join(dir, `${Math.random()}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}
const custom = {
  id: 'my-vllm-model',
  name: 'My vLLM model',
  provider: 'openai',
  model: 'meta-llama/Llama-3.1-8B',
  apiKeyRequired: null,
  requiresLoading: false,
  capabilities: ['text'],
  contextLength: 32768,
  pricing: null,
  temperatureRange: { min: 0, max: 2, step: 0.1, default: 0.7 },
};

describe('model catalog', () => {
  it('ships a valid catalog with a demo model and each provider', () => {
    const models = readCatalogFile(SHIPPED_CATALOG).models;
    expect(new Set(models.map((m) => m.provider))).toEqual(new Set(['demo', 'openai', 'anthropic', 'google', 'ollama']));
    expect(new Set(models.map((m) => m.id)).size).toBe(models.length);
  });

  it('extends the shipped catalog with MODELS_FILE, same id replacing', () => {
    const models = loadCatalog(file({ models: [custom, { ...custom, id: 'gpt-4o', name: 'Renamed' }] }));
    expect(models.find((m) => m.id === 'my-vllm-model')).toMatchObject({ model: 'meta-llama/Llama-3.1-8B' });
    expect(models.find((m) => m.id === 'gpt-4o')?.name).toBe('Renamed');
    expect(models.find((m) => m.id === 'claude-opus')).toBeDefined();
  });

  it('replaces it when asked', () => {
    expect(loadCatalog(file({ replace: true, models: [custom] })).map((m) => m.id)).toEqual(['my-vllm-model']);
  });

  it('names the bad entry of an invalid file', () => {
    expect(() => loadCatalog(file({ models: [{ ...custom, contextLength: -1 }] }))).toThrow(/models\[0\]: contextLength/);
    expect(() => loadCatalog(file({ nope: [] }))).toThrow(/expected/);
  });
});
