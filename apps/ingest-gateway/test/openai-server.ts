/**
 * A local server that speaks the OpenAI Chat Completions protocol (`POST /v1/chat/completions`, JSON
 * or server-sent events with `stream: true`), so the real `openai` client and the instrumentations
 * around it can be tested without reaching OpenAI. It answers `answer` to every request, with usage.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OpenAiTestServer {
  /** e.g. http://127.0.0.1:41234/v1 (the client's baseURL) */
  baseURL: string;
  requests: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startOpenAiServer(answer = 'Paris.'): Promise<OpenAiTestServer> {
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      requests.push(body);
      const model = String(body.model);
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: 14, completion_tokens: 2, total_tokens: 16 };
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta: object, finish: string | null, extra: object = {}) =>
          `data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
        const half = Math.ceil(answer.length / 2);
        res.write(chunk({ role: 'assistant', content: answer.slice(0, half) }, null));
        res.write(chunk({ content: answer.slice(half) }, null));
        res.write(chunk({}, 'stop', { usage }));
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-test',
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
          usage,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
