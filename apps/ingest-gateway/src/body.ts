/**
 * Reads a JSON request body without ever holding more than `limit` bytes: a declared
 * `Content-Length` over the limit is refused before reading, and a streamed body is counted chunk by
 * chunk and refused (413) the moment it passes the limit. Then one UTF-8 decode and one `JSON.parse`;
 * malformed JSON is a 400 that says where (line, column) and what.
 *
 * On a Node server (@hono/node-server) the bytes come straight from the `IncomingMessage`, which
 * skips the web-stream conversion on the hot path; elsewhere (`app.request`, other runtimes) from
 * `Request.body`. After a 413 the rest of the upload is left unread: the node adapter drains or
 * closes the connection once the answer is sent.
 *
 * @example
 *   const { body, bytes } = await readJsonBody(c.req.raw, c.env?.incoming, c.req.header('content-length'), 1 << 20);
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

function tooLarge(limit: number): ApiError {
  return new ApiError('body_too_large', `request body is larger than the limit of ${limit} bytes`);
}

/** 415 unless the media type is application/json (parameters such as charset=utf-8 are allowed). */
export function assertJsonContentType(contentType: string | undefined): void {
  if (contentType === 'application/json') return;
  if (contentType !== undefined) {
    const semicolon = contentType.indexOf(';');
    const media = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
    if (media === 'application/json') return;
  }
  throw new ApiError(
    'unsupported_media_type',
    `Content-Type must be application/json${contentType === undefined ? ' (none was sent)' : `, not ${JSON.stringify(contentType.slice(0, 100))}`}`,
  );
}

function readIncoming(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  if (incoming.readableEnded) return Promise.reject(new Error('the request body was already consumed'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (cause: Error): void => {
      cleanup();
      reject(new ApiError('incomplete_body', 'the request body could not be read to its end', { cause }));
    };
    const onClose = (): void => onError(new Error('connection closed before the body ended'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

async function readStream(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(limit);
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    throw new ApiError('incomplete_body', 'the request body could not be read to its end', { cause });
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** `line L, column C` of a character offset. */
function locate(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${position - lineStart + 1}`;
}

/**
 * The deepest nesting of objects and arrays a body may have (the body itself is level 1). Deeper
 * values would overflow the stack of whatever recurses over them later (JSON.stringify when the trace
 * is encoded, schema checks, the tiers), so they are refused at the edge.
 */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects and arrays deeper than `max` levels. Iterative, so never overflows itself. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [node, depth] = next;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** One JSON.parse; a failure says where when the engine tells us the position. Nesting deeper than MAX_JSON_DEPTH is a 400. */
export function parseJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    if (text.trim() === '') throw new ApiError('invalid_json', 'malformed JSON: the body is empty');
    const position = /at position (\d+)/.exec(detail);
    const where = position !== null ? ` at ${locate(text, Number(position[1]))}` : '';
    // V8 quotes the start of the input in some messages ("... is not valid JSON"): keep only the reason.
    const reason = detail.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    throw new ApiError('invalid_json', `malformed JSON${where}: ${reason}`);
  }
  if (value !== null && typeof value === 'object' && nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    const message = `objects and arrays are nested deeper than ${MAX_JSON_DEPTH} levels`;
    throw new ApiError('invalid_body', `the body is invalid: ${message}`, { issues: [{ path: '$', message }] });
  }
  return value;
}

/** The raw body bytes, with the same limits and errors as `readJsonBody` (413 past `limit`). */
export async function readBodyBytes(request: Request, incoming: IncomingMessage | undefined, contentLength: string | undefined, limit: number): Promise<Uint8Array> {
  if (contentLength !== undefined && Number(contentLength) > limit) throw tooLarge(limit);
  if (incoming !== undefined) return readIncoming(incoming, limit);
  if (request.body === null) return new Uint8Array(0);
  return readStream(request.body, limit);
}

/**
 * The parsed JSON body and its size in bytes. `incoming` is the Node request when the app runs on
 * @hono/node-server (`c.env.incoming`); pass undefined to read `request.body`. `contentLength` is the
 * header's value.
 */
export async function readJsonBody(
  request: Request,
  incoming: IncomingMessage | undefined,
  contentLength: string | undefined,
  limit: number,
): Promise<{ body: unknown; bytes: number }> {
  const bytes = await readBodyBytes(request, incoming, contentLength, limit);
  return { body: parseJsonBytes(bytes), bytes: bytes.byteLength };
}

/** UTF-8 bytes parsed as by `parseJson`; bytes that are not UTF-8 are a 400 invalid_json. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new ApiError('invalid_json', 'the body is not valid UTF-8');
  }
  return parseJson(text);
}
