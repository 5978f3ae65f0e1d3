import { AppException } from '../../common/errors/app.exception';
import { assertSupported, supportsFeature } from './feature-support';
import { CatalogEntry } from './models.dto';

const vision = { id: 'seeing', capabilities: ['text', 'vision'] } as CatalogEntry;
const blind = { id: 'blind', capabilities: ['text'] } as CatalogEntry;
const all = { tools: true, responseFormat: true, images: true };

function refusal(fn: () => void): AppException {
  try {
    fn();
  } catch (error) {
    return error as AppException;
  }
  throw new Error('not refused');
}

describe('feature support', () => {
  it('needs both the provider feature and, for images, the vision capability', () => {
    expect(supportsFeature(vision, all, 'images')).toBe(true);
    expect(supportsFeature(blind, all, 'images')).toBe(false);
    expect(supportsFeature(vision, { ...all, images: false }, 'images')).toBe(false);
    expect(supportsFeature(blind, all, 'tools')).toBe(true);
    expect(supportsFeature(vision, undefined, 'tools')).toBe(false);
  });

  it("refuses with a 400 naming the parameter (OpenAI's name by default, or the route's)", () => {
    expect(() => assertSupported(blind, all, { tools: true, images: false })).not.toThrow();
    const gateway = refusal(() => assertSupported(blind, all, { tools: false, images: true }));
    expect(gateway.getStatus()).toBe(400);
    expect(gateway.details).toEqual({ fields: { messages: ['blind does not support images'] } });
    const thread = refusal(() => assertSupported(blind, all, { images: true }, { images: 'images' }));
    expect(thread.details).toEqual({ fields: { images: ['blind does not support images'] } });
    const format = refusal(() => assertSupported(vision, { ...all, responseFormat: false }, { responseFormat: true }));
    expect(format.message).toBe('seeing does not support response_format');
  });
});
