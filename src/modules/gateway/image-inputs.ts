import { Injectable } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { AppConfig } from '../../config/app.config';
import { safeFetch, SafeFetchError, SafeFetchOptions, SafeFetchReason } from '../../infra/http/safe-fetch';
import type { ImageInput } from '../models/model-provider';

/** The image formats every vision provider takes. */
export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

const MEDIA_TYPES = new Map<string, ImageMediaType>([
  ['image/png', 'image/png'],
  ['image/jpeg', 'image/jpeg'],
  ['image/jpg', 'image/jpeg'],
  ['image/gif', 'image/gif'],
  ['image/webp', 'image/webp'],
]);

const ascii = (bytes: Buffer, start: number, text: string) => bytes.subarray(start, start + text.length).toString('latin1') === text;

/** The format the bytes are in, by their magic numbers; undefined for anything else. */
export function sniffImage(bytes: Buffer): ImageMediaType | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return 'image/gif';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'image/webp';
  return undefined;
}

// RFC 2397: data:[<mediatype>][;parameter=value]*;base64,<data>
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/is;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const FETCH_FAILURES: Record<SafeFetchReason, string> = {
  invalid_url: 'is not a valid http(s) URL',
  blocked_address: 'does not point to a public address',
  too_large: 'is too large',
  timeout: 'took too long to fetch',
  bad_status: 'did not answer with an image',
  bad_content_type: 'is not a PNG, JPEG, GIF or WebP image',
  too_many_redirects: 'redirects too many times',
  network_error: 'could not be fetched',
};

/**
 * Turns the URL of an OpenAI `image_url` part into the inline bytes providers take: a
 * base64 `data:` URL is decoded, an http(s) URL is fetched by `safeFetch` (public
 * addresses only). Either way the size is bounded and the bytes must really be the PNG,
 * JPEG, GIF or WebP image they claim to be. Anything else is a 400 naming the request field
 * that carried the image (`messages` unless told otherwise).
 */
@Injectable()
export class ImageInputs {
  constructor(private readonly config: AppConfig) {}

  /** The image at `url`; a 400 naming `param` (the request field that carried it) when it cannot be taken. */
  async load(url: string, param = 'messages'): Promise<ImageInput> {
    try {
      const trimmed = url.trim();
      if (/^data:/i.test(trimmed)) return this.fromDataUrl(trimmed);
      if (/^https?:\/\//i.test(trimmed)) return await this.fromHttp(trimmed);
      throw invalid('An image URL must be a data: URL or an http(s) URL');
    } catch (error) {
      if (error instanceof ImageRejected) throw AppException.validation(error.message, { fields: { [param]: [error.message] } });
      throw error;
    }
  }

  /** How http(s) images are fetched; tests widen it to reach a local server. */
  protected fetchOptions(): SafeFetchOptions {
    return {
      maxBytes: this.config.IMAGE_FETCH_MAX_BYTES,
      timeoutMs: this.config.IMAGE_FETCH_TIMEOUT_MS,
      maxRedirects: 3,
      accept: (contentType) => MEDIA_TYPES.has(contentType),
    };
  }

  private fromDataUrl(url: string): ImageInput {
    const match = DATA_URL.exec(url);
    if (!match) throw invalid('The image data: URL is malformed');
    const [, declaredType, parameters, payload] = match;
    if (!parameters.split(';').some((p) => p.trim().toLowerCase() === 'base64')) {
      throw invalid('An image data: URL must be base64-encoded (data:image/png;base64,…)');
    }
    const declared = this.mediaType(declaredType);
    const base64 = payload.replace(/\s+/g, '');
    const maxBytes = this.config.IMAGE_FETCH_MAX_BYTES;
    // Refuse before decoding: 4 base64 characters carry 3 bytes.
    if (base64.length > Math.ceil(maxBytes / 3) * 4) throw tooLarge(maxBytes);
    if (!base64 || base64.length % 4 === 1 || !BASE64.test(base64)) throw invalid('The image data: URL is not valid base64');
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length > maxBytes) throw tooLarge(maxBytes);
    return this.checked(bytes, declared);
  }

  private async fromHttp(url: string): Promise<ImageInput> {
    let fetched: { contentType: string; body: Buffer };
    try {
      fetched = await safeFetch(url, this.fetchOptions());
    } catch (error) {
      if (!(error instanceof SafeFetchError)) throw error;
      if (error.reason === 'too_large') throw tooLarge(this.config.IMAGE_FETCH_MAX_BYTES);
      throw invalid(`The image URL ${FETCH_FAILURES[error.reason]}`);
    }
    return this.checked(fetched.body, this.mediaType(fetched.contentType));
  }

  private mediaType(declared: string): ImageMediaType {
    const type = MEDIA_TYPES.get(declared.trim().toLowerCase());
    if (!type) throw invalid(`Images must be PNG, JPEG, GIF or WebP, not ${declared.trim() || 'an unnamed type'}`);
    return type;
  }

  /** The bytes must be the format that was declared. */
  private checked(bytes: Buffer, declared: ImageMediaType): ImageInput {
    const actual = sniffImage(bytes);
    if (actual !== declared) {
      throw invalid(`The image is declared as ${declared} but its content is ${actual ?? 'not a PNG, JPEG, GIF or WebP image'}`);
    }
    return { mediaType: actual, data: bytes.toString('base64') };
  }
}

/** Why an image is refused; `load` turns it into a 400 naming the request field. */
class ImageRejected extends Error {}

function invalid(message: string): ImageRejected {
  return new ImageRejected(message);
}

function tooLarge(maxBytes: number): ImageRejected {
  return invalid(`Images may be at most ${maxBytes} bytes`);
}
