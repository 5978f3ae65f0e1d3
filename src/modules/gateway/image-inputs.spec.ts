import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppException } from '../../common/errors/app.exception';
import { loadConfig } from '../../config/app.config';
import { SafeFetchOptions } from '../../infra/http/safe-fetch';
import { ImageInputs, sniffImage } from './image-inputs';

const config = (env: Record<string, string> = {}) =>
  loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'a'.repeat(64), EMBEDDED_DB_PATH: 'memory://', ...env });

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
const WEBP = Buffer.concat([Buffer.from('RIFF'), Buffer.from([0x1a, 0, 0, 0]), Buffer.from('WEBPVP8 ')]);
const dataUrl = (type: string, bytes: Buffer) => `data:${type};base64,${bytes.toString('base64')}`;

/** A 400 naming `messages`, as the gateway answers it. */
async function badRequest(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppException);
  const exception = error as AppException;
  expect(exception.getStatus()).toBe(400);
  expect(exception.code).toBe('VALIDATION_ERROR');
  expect(exception.details).toEqual({ fields: { messages: [exception.message] } });
  return exception.message;
}

describe('sniffImage', () => {
  it('knows PNG, JPEG, GIF and WebP by their magic bytes, and nothing else', () => {
    expect(sniffImage(PNG)).toBe('image/png');
    expect(sniffImage(JPEG)).toBe('image/jpeg');
    expect(sniffImage(GIF)).toBe('image/gif');
    expect(sniffImage(WEBP)).toBe('image/webp');
    expect(sniffImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WAVE'))).toBeUndefined();
    expect(sniffImage(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('ImageInputs', () => {
  const images = new ImageInputs(config());

  it('decodes a data: URL of each format into inline base64', async () => {
    expect(await images.load(dataUrl('image/png', PNG))).toEqual({ mediaType: 'image/png', data: PNG.toString('base64') });
    expect(await images.load(dataUrl('image/jpg', JPEG))).toEqual({ mediaType: 'image/jpeg', data: JPEG.toString('base64') });
    expect((await images.load(dataUrl('IMAGE/GIF', GIF))).mediaType).toBe('image/gif');
    expect((await images.load(dataUrl('image/webp', WEBP))).mediaType).toBe('image/webp');
  });

  it('refuses a data: URL whose media type lies about its content', async () => {
    expect(await badRequest(images.load(dataUrl('image/png', JPEG)))).toMatch(/declared as image\/png but its content is image\/jpeg/);
    expect(await badRequest(images.load(dataUrl('image/png', Buffer.from('<html>not an image</html>'))))).toMatch(/not a PNG/);
  });

  it('refuses other media types, non-base64 and malformed data: URLs', async () => {
    expect(await badRequest(images.load(dataUrl('image/svg+xml', Buffer.from('<svg/>'))))).toMatch(/PNG, JPEG, GIF or WebP/);
    await badRequest(images.load(`data:image/png,${PNG.toString('latin1')}`));
    await badRequest(images.load('data:image/png;base64,@@@not-base64@@@'));
    await badRequest(images.load('data:image/png;base64,'));
    await badRequest(images.load('data:image/png;base64'));
  });

  it('refuses an image over IMAGE_FETCH_MAX_BYTES', async () => {
    const small = new ImageInputs(config({ IMAGE_FETCH_MAX_BYTES: '2048' }));
    const big = Buffer.concat([PNG, Buffer.alloc(4096)]);
    expect(await badRequest(small.load(dataUrl('image/png', big)))).toMatch(/at most 2048 bytes/);
    // Just under the limit passes (the size, not the encoding, counts).
    expect((await small.load(dataUrl('image/png', Buffer.concat([PNG, Buffer.alloc(2048 - PNG.length)])))).mediaType).toBe('image/png');
  });

  it('refuses URLs that are neither data: nor http(s)', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/a.png', 'cat.png', '']) await badRequest(images.load(url));
  });

  it('refuses an http URL to 127.0.0.1 with the default configuration', async () => {
    expect(await badRequest(images.load('http://127.0.0.1:9/cat.png'))).toMatch(/public address/);
    expect(await badRequest(images.load('http://169.254.169.254/latest/meta-data/'))).toMatch(/public address/);
    expect(await badRequest(images.load('http://localhost/cat.png'))).toMatch(/public address/);
  });

  describe('over http, from a local server a test subclass allows', () => {
    let server: Server;
    let origin: string;

    class LocalImageInputs extends ImageInputs {
      protected override fetchOptions(): SafeFetchOptions {
        return { ...super.fetchOptions(), allowAddresses: ['127.0.0.1'] };
      }
    }
    const local = new LocalImageInputs(config({ IMAGE_FETCH_MAX_BYTES: '2048' }));

    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/pixel.png') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
        else if (req.url === '/lying.png') res.writeHead(200, { 'content-type': 'image/png' }).end('<html></html>');
        else if (req.url === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
        else if (req.url === '/big.png') res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.concat([PNG, Buffer.alloc(4096)]));
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('loads a PNG', async () => {
      expect(await local.load(`${origin}/pixel.png`)).toEqual({ mediaType: 'image/png', data: PNG.toString('base64') });
    });

    it('refuses a body that is not the image its content type claims, another type, a 404 and an oversized image', async () => {
      expect(await badRequest(local.load(`${origin}/lying.png`))).toMatch(/declared as image\/png/);
      expect(await badRequest(local.load(`${origin}/page`))).toMatch(/PNG, JPEG, GIF or WebP/);
      await badRequest(local.load(`${origin}/missing.png`));
      expect(await badRequest(local.load(`${origin}/big.png`))).toMatch(/at most 2048 bytes/);
    });
  });
});
