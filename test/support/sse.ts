import { request as httpRequest } from 'node:http';
import { specValidator } from './openapi-validator';

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export function parseSse(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((frame) => /^event: /m.test(frame))
    .map((frame) => {
      const field = (name: string) => frame.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      return { id: field('id'), event: field('event')!, data: JSON.parse(field('data') ?? 'null') };
    });
}

/** Opens an SSE request and collects events; `onEvent` may stop early by returning true. */
export function sse(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: unknown,
  onEvent?: (event: SseEvent, all: SseEvent[]) => boolean | void,
): Promise<{ status: number; headers: Record<string, unknown>; events: SseEvent[]; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        const events: SseEvent[] = [];
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk;
          buffer += chunk;
          const frames = buffer.split('\n\n');
          buffer = frames.pop()!;
          for (const e of parseSse(frames.map((f) => f + '\n\n').join(''))) {
            events.push(e);
            if (onEvent?.(e, events)) {
              req.destroy();
              resolve({ status: res.statusCode!, headers: res.headers, events, text });
            }
          }
        });
        res.on('end', () => {
          // Whole streams are checked against openapi.json like every http() response.
          const problems = specValidator().check(method, path, { status: res.statusCode!, headers: res.headers, text, body: /json/.test(String(res.headers['content-type'])) ? safeJson(text) : undefined });
          if (problems.length) reject(new Error(`Response does not match openapi.json:\n${problems.join('\n')}`));
          else resolve({ status: res.statusCode!, headers: res.headers, events, text });
        });
        res.on('error', () => resolve({ status: res.statusCode!, headers: res.headers, events, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
