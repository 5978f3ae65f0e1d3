import { AppException } from '../../common/errors/app.exception';
import { ProviderFeatures } from './model-provider';
import { CatalogEntry } from './models.dto';

export type ProviderFeature = keyof ProviderFeatures;

/** The request parameter (OpenAI's name) that needs each provider feature: a 400 names it. */
const FEATURE_PARAMETERS: Record<ProviderFeature, string> = { tools: 'tools', responseFormat: 'response_format', images: 'messages' };

/**
 * Whether a model can honour a feature: its provider must offer it, and for images the
 * catalog must also mark the model with the `vision` capability.
 */
export function supportsFeature(entry: CatalogEntry, features: ProviderFeatures | undefined, feature: ProviderFeature): boolean {
  return !!features?.[feature] && (feature !== 'images' || entry.capabilities.includes('vision'));
}

/**
 * A request that needs what the provider or model cannot do is refused, never silently
 * degraded: a 400 naming the parameter (tools, response_format, or messages for images;
 * `parameters` renames it for a route whose field is called otherwise).
 */
export function assertSupported(
  entry: CatalogEntry,
  features: ProviderFeatures | undefined,
  needs: Partial<Record<ProviderFeature, boolean>>,
  parameters: Partial<Record<ProviderFeature, string>> = {},
): void {
  for (const feature of Object.keys(needs) as ProviderFeature[]) {
    if (!needs[feature] || supportsFeature(entry, features, feature)) continue;
    const param = parameters[feature] ?? FEATURE_PARAMETERS[feature];
    const what = feature === 'images' ? 'images' : param;
    throw AppException.validation(`${entry.id} does not support ${what}`, { fields: { [param]: [`${entry.id} does not support ${what}`] } });
  }
}
