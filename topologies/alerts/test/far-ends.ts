/**
 * Local servers that speak each far end's documented protocol, for the adapters' real clients:
 *
 * - PagerDuty Events API v2: `POST /v2/enqueue`, validates the event (routing key, action, payload
 *   fields for a trigger), answers 202 `{status, message, dedup_key}` or 400 `{status:'invalid event'}`,
 *   and keeps alerts by dedup_key as PagerDuty does: a trigger on an open alert is deduplicated into
 *   it; `incidents` counts alerts opened (the pages).
 * - Slack incoming webhook: `POST /services/...`, `text` or `blocks` required, answers `ok` (200) or
 *   `invalid_payload` (400).
 * - A webhook receiver that verifies Standard Webhooks signatures (and refuses a bad one with 401),
 *   de-duplicating by `webhook-id`.
 * - SMTP: the `smtp-server` package; each received message is parsed with `mailparser`.
 *
 * Each can be told to answer the next requests with a status (429 with Retry-After, 500, 410...), to
 * be slow, or be closed (down).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

interface Script {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

abstract class HttpFarEnd {
  protected server: Server;
  /** answers to give before the normal ones, in order */
  readonly script: Script[] = [];
  delayMs = 0;
  requests = 0;
  /** every request's body, answered or scripted, in arrival order */
  readonly bodies: string[] = [];
  url = '';

  constructor() {
    this.server = createServer((req, res) => void this.onRequest(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests++;
    this.bodies.push(Buffer.concat(chunks).toString('utf8'));
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;
    const scripted = this.script.shift();
    if (scripted !== undefined) {
      res.writeHead(scripted.status, { 'content-type': 'text/plain', ...scripted.headers });
      res.end(scripted.body ?? `scripted ${scripted.status}`);
      return;
    }
    const { status, body, headers } = this.handle(req, Buffer.concat(chunks).toString('utf8'));
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  }

  protected abstract handle(req: IncomingMessage, body: string): { status: number; body: string; headers?: Record<string, string> };
}

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key?: string;
  payload?: { summary: string; source: string; severity: string; [key: string]: unknown };
}

export class PagerDutyServer extends HttpFarEnd {
  readonly events: PagerDutyEvent[] = [];
  /** alerts by dedup_key: open or resolved, with how many triggers were folded into them */
  readonly alerts = new Map<string, { open: boolean; triggers: number; opened: number }>();
  /** pages: alerts opened (a trigger on a dedup_key without an open alert) */
  incidents = 0;

  get endpoint(): string {
    return `${this.url}/v2/enqueue`;
  }

  protected handle(req: IncomingMessage, text: string) {
    const invalid = (errors: string[]) => ({ status: 400, body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }) });
    if (req.url !== '/v2/enqueue' || req.method !== 'POST') return { status: 404, body: '{}' };
    let event: PagerDutyEvent;
    try {
      event = JSON.parse(text) as PagerDutyEvent;
    } catch {
      return invalid(['body is not JSON']);
    }
    const errors: string[] = [];
    if (typeof event.routing_key !== 'string' || event.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
    if (!['trigger', 'acknowledge', 'resolve'].includes(event.event_action)) errors.push("'event_action' is invalid");
    if (event.event_action === 'trigger') {
      const p = event.payload;
      if (!p || typeof p.summary !== 'string' || typeof p.source !== 'string' || !['critical', 'error', 'warning', 'info'].includes(p.severity)) errors.push("'payload' needs summary, source and a severity of critical, error, warning or info");
    } else if (typeof event.dedup_key !== 'string') errors.push("'dedup_key' is required for acknowledge and resolve");
    if (errors.length > 0) return invalid(errors);
    this.events.push(event);
    const key = event.dedup_key ?? `generated-${this.events.length}`;
    const alert = this.alerts.get(key);
    if (event.event_action === 'trigger') {
      if (alert === undefined || !alert.open) {
        this.incidents++;
        this.alerts.set(key, { open: true, triggers: 1, opened: (alert?.opened ?? 0) + 1 });
      } else alert.triggers++;
    } else if (event.event_action === 'resolve' && alert !== undefined) alert.open = false;
    return { status: 202, body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: key }) };
  }

  triggers(): PagerDutyEvent[] {
    return this.events.filter((e) => e.event_action === 'trigger');
  }
  resolves(): PagerDutyEvent[] {
    return this.events.filter((e) => e.event_action === 'resolve');
  }
  openIncidents(): number {
    return [...this.alerts.values()].filter((a) => a.open).length;
  }
}

export class SlackServer extends HttpFarEnd {
  readonly messages: { text?: string; blocks?: unknown[] }[] = [];

  get webhookUrl(): string {
    return `${this.url}/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX`;
  }

  protected handle(req: IncomingMessage, text: string) {
    if (!req.url?.startsWith('/services/')) return { status: 404, body: 'no_service' };
    try {
      const message = JSON.parse(text) as { text?: string; blocks?: unknown[] };
      if (typeof message.text !== 'string' && !Array.isArray(message.blocks)) return { status: 400, body: 'invalid_payload' };
      if (Array.isArray(message.blocks) && message.blocks.length > 50) return { status: 400, body: 'invalid_blocks' };
      this.messages.push(message);
      return { status: 200, body: 'ok', headers: { 'content-type': 'text/html' } };
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
  }
}

export class WebhookReceiver extends HttpFarEnd {
  readonly received: { id: string; body: Record<string, unknown> }[] = [];
  readonly seenIds = new Set<string>();
  rejected = 0;

  constructor(private secret: string) {
    super();
  }

  setSecret(secret: string): void {
    this.secret = secret;
  }

  protected handle(req: IncomingMessage, text: string) {
    const id = String(req.headers['webhook-id'] ?? '');
    const timestamp = String(req.headers['webhook-timestamp'] ?? '');
    const signatures = String(req.headers['webhook-signature'] ?? '').split(' ');
    const key = Buffer.from(this.secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${text}`).digest();
    const valid = signatures.some((s) => {
      const [version, sig] = s.split(',');
      if (version !== 'v1' || sig === undefined) return false;
      const given = Buffer.from(sig, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
    if (!id || !valid || !fresh) {
      this.rejected++;
      return { status: 401, body: JSON.stringify({ error: 'invalid signature' }) };
    }
    if (!this.seenIds.has(id)) {
      this.seenIds.add(id);
      this.received.push({ id, body: JSON.parse(text) as Record<string, unknown> });
    }
    return { status: 204, body: '' };
  }
}

export class SmtpFarEnd {
  readonly mails: ParsedMail[] = [];
  /** reply to the next messages with this SMTP error (e.g. 451 or 550) */
  readonly script: number[] = [];
  port = 0;
  private readonly server: SMTPServer;

  constructor(options: { starttls?: boolean } = {}) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: options.starttls === true ? [] : ['STARTTLS'],
      logger: false,
      onData: (stream, _session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            const code = this.script.shift();
            if (code !== undefined) {
              const error = Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: code });
              callback(error);
              return;
            }
            this.mails.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = ((this.server as unknown as { server: Server }).server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port with nothing listening on it (a far end that is down). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
