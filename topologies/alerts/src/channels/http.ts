/**
 * One HTTP POST for the HTTP adapters (undici), with a whole-request timeout, the answer's body read
 * up to a bound, and transport failures (refused, reset, DNS, TLS, timeout) returned as data. Every
 * request goes through the egress policy (`@metronis/stores` egress.ts): the URL's text is checked,
 * then each address its host resolves to when connecting; a refusal is `refused: true` (not retried).
 */
import type { EgressPolicy } from '@metronis/stores';
import { Agent, request } from 'undici';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type HttpOutcome = { ok: true; answer: HttpAnswer } | { ok: false; error: string; refused?: true };

export type PostJson = (url: string, body: string, headers: Record<string, string>, timeoutMs: number) => Promise<HttpOutcome>;

const MAX_BODY = 4096;

/** A POST through `egress`: one connection pool whose connections resolve names through the policy. */
export function egressPost(egress: EgressPolicy): PostJson {
  const dispatcher = new Agent({ connect: { lookup: egress.lookup } });
  return (url, body, headers, timeoutMs) => {
    const refused = egress.checkUrl(url);
    if (refused !== null) return Promise.resolve({ ok: false, error: `EGRESS_REFUSED: egress refused: ${refused}`, refused: true });
    return postJson(url, body, headers, timeoutMs, dispatcher);
  };
}

async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number, dispatcher: Agent): Promise<HttpOutcome> {
  try {
    const res = await request(url, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Metronis-Alerts/1', ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    let text = '';
    for await (const chunk of res.body) {
      if (text.length < MAX_BODY) text += (chunk as Buffer).toString('utf8');
    }
    return { ok: true, answer: { status: res.statusCode, headers: res.headers, body: text.slice(0, MAX_BODY) } };
  } catch (error) {
    const e = error as { code?: string; cause?: { code?: string } };
    return e?.code === 'EGRESS_REFUSED' || e?.cause?.code === 'EGRESS_REFUSED' ? { ok: false, error: describe(error), refused: true } : { ok: false, error: describe(error) };
  }
}

/** A transport error as one line, without the URL (it may hold a secret: a Slack webhook's token). */
function describe(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  const code = e?.code ?? e?.cause?.code;
  const message = (e?.cause?.message ?? e?.message ?? String(error)).replace(/https?:\/\/\S+/g, '<url>');
  return code ? `${code}: ${message}` : message;
}

export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 3_600_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 3_600_000));
}
