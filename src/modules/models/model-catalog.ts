import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogEntry } from './models.dto';

export const SHIPPED_CATALOG = join(__dirname, 'catalog', 'models.catalog.json');

/** Reads and validates a catalog file: `{ "models": [...] }`, optionally `"replace": true`. */
export function readCatalogFile(path: string): { models: CatalogEntry[]; replace: boolean } {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { models?: unknown[]; replace?: boolean };
  if (!Array.isArray(raw.models)) throw new Error(`${path}: expected {"models": [...]}`);
  const models = raw.models.map((m, i) => {
    const entry = plainToInstance(CatalogEntry, m);
    const errors = validateSync(entry, { forbidUnknownValues: true });
    if (errors.length) {
      throw new Error(`${path}: models[${i}]: ${errors.map((e) => `${e.property} ${Object.values(e.constraints ?? { invalid: 'is invalid' }).join(', ')}`).join('; ')}`);
    }
    return entry;
  });
  return { models, replace: raw.replace === true };
}

/** The shipped catalog, extended (same id wins) or replaced by MODELS_FILE. */
export function loadCatalog(modelsFile?: string): CatalogEntry[] {
  const shipped = readCatalogFile(SHIPPED_CATALOG).models;
  if (!modelsFile) return shipped;
  const extra = readCatalogFile(modelsFile);
  if (extra.replace) return extra.models;
  const byId = new Map(shipped.map((m) => [m.id, m]));
  for (const m of extra.models) byId.set(m.id, m);
  return [...byId.values()];
}

/** USD for one call at the catalog's prices (per 1K tokens); null when the model has none or usage is unknown. */
export function costOf(entry: CatalogEntry, promptTokens: number | null, completionTokens: number): number | null {
  return entry.pricing && promptTokens !== null ? (promptTokens * entry.pricing.input + completionTokens * entry.pricing.output) / 1000 : null;
}
