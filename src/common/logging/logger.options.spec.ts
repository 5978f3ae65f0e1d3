import { createServer, get, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pinoHttp } from 'pino-http';
import { loadConfig } from '../../config/app.config';
import { loggerOptions } from './logger.options';

/** Raw lines pino writes, as a strict log pipeline receives them (not re-parsed). */
async function requestLines(url: string, mounts: number): Promise<string[]> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({ JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'b'.repeat(64), NODE_ENV: 'test', LOG_LEVEL: 'debug' });
  const middleware = pinoHttp(loggerOptions(config, destination).pinoHttp as Parameters<typeof pinoHttp>[0]);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    (req as IncomingMessage & { id: string }).id = 'req-1';
    // nestjs-pino ends up mounted twice on routes excluded from the global prefix (/v1).
    for (let i = 0; i < mounts; i++) middleware(req, res);
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => get(`http://127.0.0.1:${port}${url}`, (res) => res.resume().on('end', resolve)).on('error', reject));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return lines;
}

describe('request log lines', () => {
  it('writes one line per request, with each key once, even when the middleware runs twice', async () => {
    const lines = await requestLines('/v1/chat/completions', 2);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(JSON.parse(line)).toMatchObject({ msg: 'request:end', requestId: 'req-1', req: { method: 'GET', url: '/v1/chat/completions' }, res: { statusCode: 200 } });
    for (const key of ['req', 'res', 'requestId', 'durationMs', 'msg']) {
      expect({ key, count: line.split(`"${key}":`).length - 1 }).toEqual({ key, count: 1 });
    }
  });

  it('logs query names without the prompts and search terms in them', async () => {
    const [line] = await requestLines('/api/llm/stream?prompt=my%20secret%20plan&system=hidden-system&model=parley-demo&q=private-search', 1);
    expect(line).not.toMatch(/secret|hidden-system|private-search/);
    expect(JSON.parse(line).req.url).toBe('/api/llm/stream?prompt=%5BRedacted%5D&system=%5BRedacted%5D&model=parley-demo&q=%5BRedacted%5D');
  });
});
