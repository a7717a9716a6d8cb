/**
 * A local HTTP server that speaks the wire protocols the judge calls: OpenAI Chat Completions
 * (`POST /v1/chat/completions`), OpenAI Responses (`POST /v1/responses`) and Anthropic Messages
 * (`POST /v1/messages`), answering from a script. The tests and `npm run eval:tier3 -- --provider
 * scripted` point the real SDK clients at it; nothing in the product uses it.
 *
 * A step is what the server does with the next request: answer a judgment (in the protocol of the
 * path: message content, output text, or a tool call), answer raw text, refuse, fail with a status
 * and headers (`429` with `retry-after`), stall after the headers (a slow stream), or never answer.
 * When the script is empty, `fallback` decides (by default: a rating-1 judgment).
 *
 * @example
 *   const server = await startScriptedServer();
 *   server.script.push({ status: 429, headers: { 'retry-after': '1' } }, { judgment: { rating: 4, label: 'violence', rationale: '...' } });
 *   new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test' });
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptStep =
  | { judgment: { rating: number; label: string; rationale: string }; usage?: { input: number; output: number } }
  | { text: string; usage?: { input: number; output: number } }
  | { refusal: string }
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** Headers at once, then the body a byte every `everyMs` (never finishing within a short deadline). */
  | { slowBodyEveryMs: number }
  | { hang: true };

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface ScriptedServer {
  url: string;
  script: ScriptStep[];
  requests: RecordedRequest[];
  /** Decides the answer when the script is empty. */
  fallback: (request: RecordedRequest) => ScriptStep;
  /** Most requests that were in flight at once. */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

export async function startScriptedServer(options: { port?: number } = {}): Promise<ScriptedServer> {
  let inFlight = 0;
  let maxInFlight = 0;
  const open = new Set<ServerResponse>();
  const state: ScriptedServer = {
    url: '',
    script: [],
    requests: [],
    fallback: () => ({ judgment: { rating: 1, label: 'none', rationale: 'scripted: nothing to report' } }),
    get maxInFlight() {
      return maxInFlight;
    },
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    open.add(res);
    res.on('close', () => {
      inFlight--;
      open.delete(res);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      body = {};
    }
    const path = (req.url ?? '').split('?')[0]!;
    const recorded: RecordedRequest = { path, headers: req.headers, body };
    state.requests.push(recorded);
    const step = state.script.shift() ?? state.fallback(recorded);
    answer(res, path, body, step);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

function answer(res: ServerResponse, path: string, body: Record<string, unknown>, step: ScriptStep): void {
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  if ('hang' in step) return;
  if ('slowBodyEveryMs' in step) {
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write(' '), step.slowBodyEveryMs);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if ('status' in step) {
    const error = path === '/v1/messages' ? { type: 'error', error: { type: step.status === 429 ? 'rate_limit_error' : 'api_error', message: `scripted ${step.status}` } } : { error: { message: `scripted ${step.status}`, type: 'server_error', code: null } };
    return json(step.status, step.body ?? error, step.headers);
  }
  const model = String(body.model ?? 'scripted');
  const usage = 'usage' in step && step.usage ? step.usage : { input: 120, output: 40 };
  const refusal = 'refusal' in step ? step.refusal : null;
  const text = 'judgment' in step ? JSON.stringify(step.judgment) : 'text' in step ? step.text : '';
  if (path === '/v1/chat/completions') {
    return json(200, {
      id: 'chatcmpl-scripted',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: refusal === null ? text : null, refusal }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
    });
  }
  if (path === '/v1/responses') {
    const content = refusal === null ? [{ type: 'output_text', text, annotations: [] }] : [{ type: 'refusal', refusal }];
    return json(200, {
      id: 'resp_scripted',
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      model,
      status: 'completed',
      output: [{ type: 'message', id: 'msg_scripted', status: 'completed', role: 'assistant', content }],
      usage: { input_tokens: usage.input, output_tokens: usage.output, total_tokens: usage.input + usage.output },
    });
  }
  if (path === '/v1/messages') {
    const tool = ((body.tool_choice as { name?: string } | undefined)?.name ?? 'judgment') as string;
    let content: unknown[];
    if (refusal !== null) content = [{ type: 'text', text: refusal }];
    else if ('judgment' in step) content = [{ type: 'tool_use', id: 'toolu_scripted', name: tool, input: step.judgment }];
    else content = [{ type: 'text', text }];
    return json(200, {
      id: 'msg_scripted',
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: refusal !== null ? 'refusal' : 'judgment' in step ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    });
  }
  json(404, { error: { message: `no such path ${path}` } });
}
