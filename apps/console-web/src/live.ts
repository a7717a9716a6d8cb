/**
 * The browser's end of the live channel: a WebSocket to `/live` (authenticated by the session cookie)
 * that subscribes with the page's filter and reconnects by itself, with backoff, after the server went
 * away or shed it. On every (re)connect it asks for what it missed: the rows after the newest log time
 * it saw (a little before, since traces and verdicts come from different partitions; rows are merged
 * by trace id). The first connect asks for the server's recent window.
 */
import type { TraceSummary } from './types';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'signed-out';

export interface LiveHandlers {
  rows(rows: TraceSummary[], info: { dropped: number; replay: boolean }): void;
  state(state: LiveState): void;
  signedOut?(): void;
}

const SLACK_MS = 2_000;

export class LiveClient {
  private ws: WebSocket | null = null;
  private lastAt: number | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private filter: Record<string, string>,
    private readonly handlers: LiveHandlers,
    /** How far back the first connect asks for (ms). */
    private readonly initialWindowMs = 10 * 60_000,
  ) {
    this.connect();
  }

  setFilter(filter: Record<string, string>): void {
    this.filter = filter;
    this.lastAt = null;
    this.send();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.ws?.close(1000, 'page closed');
  }

  private send(): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    const since = this.lastAt === null ? Date.now() - this.initialWindowMs : this.lastAt - SLACK_MS;
    this.ws.send(JSON.stringify({ type: 'subscribe', filter: this.filter, since }));
  }

  private connect(): void {
    if (this.closed) return;
    this.handlers.state(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.handlers.state('live');
      this.send();
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; rows?: TraceSummary[]; at?: number; dropped?: number; replay?: boolean };
      if (message.type !== 'rows' || message.rows === undefined) return;
      if (message.at !== undefined && message.at > 0) this.lastAt = Math.max(this.lastAt ?? 0, message.at);
      this.handlers.rows(message.rows, { dropped: message.dropped ?? 0, replay: message.replay === true });
    };
    ws.onclose = (event) => {
      if (this.ws !== ws || this.closed) return;
      if (event.code === 4401) {
        this.handlers.state('signed-out');
        this.handlers.signedOut?.();
        return;
      }
      this.attempts += 1;
      this.handlers.state('reconnecting');
      const delay = Math.min(5_000, 250 * 2 ** Math.min(this.attempts, 5));
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}
