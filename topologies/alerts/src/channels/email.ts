/**
 * Email over SMTP with nodemailer. The Message-ID is derived from the notification id, so a message
 * sent again after a crash is recognisably the same message. Answers (RFC 5321): a 4xx reply is
 * transient and retried; a 5xx reply is permanent and not retried; connection, TLS and timeout
 * failures are retried (a server refusing STARTTLS answers 5xx: not retried). `tls`: `starttls` requires STARTTLS (refused when the server does not offer
 * it), `implicit` speaks TLS from the first byte, `none` sends in plain text. The host is resolved
 * through the egress policy and the connection made to the address it checked (the certificate is
 * still verified for the host name), so a name that resolves inside the network is refused.
 */
import { isIP } from 'node:net';
import type { EgressPolicy } from '@metronis/stores';
import { createTransport } from 'nodemailer';
import { exponential, linesOf, titleOf, type ChannelAdapter, type Notification } from './types.js';

export function emailOf(n: Notification, settings: { from: string; to: string[] }) {
  return {
    from: settings.from,
    to: settings.to,
    subject: titleOf(n),
    text: [...linesOf(n), '', `Incident: ${n.dedup_key}`, `Sent by Metronis (notification ${n.notification_id}).`].join('\n'),
    messageId: `<${n.notification_id.replace(/[^A-Za-z0-9.-]/g, '-')}@metronis.alerts>`,
    headers: { 'X-Metronis-Incident': n.dedup_key, 'X-Metronis-Notification': n.notification_id },
  };
}

interface SmtpError {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
}

export function emailAdapter(options: { timeoutMs: number; egress: EgressPolicy; retryDelaysMs?: number[]; tlsRejectUnauthorized?: boolean }): ChannelAdapter {
  return {
    type: 'email',
    retryDelaysMs: options.retryDelaysMs ?? exponential(30_000, 1_800_000, 8),
    refusedDestinations(settings) {
      if (typeof settings.host !== 'string') return [];
      const why = options.egress.checkHost(settings.host);
      return why === null ? [] : [{ path: '$.settings.host', message: why }];
    },
    async send(n, settings, secrets) {
      const s = settings as { host: string; port: number; tls: 'starttls' | 'implicit' | 'none'; from: string; to: string[]; username?: string };
      const host = s.host.replace(/^\[|\]$/g, '');
      let address: string;
      try {
        address = await options.egress.resolve(host);
      } catch (error) {
        const e = error as { code?: string; message?: string };
        return { outcome: e.code === 'EGRESS_REFUSED' ? 'failed' : 'retry', status_code: null, response: null, error: `${e.code ?? 'error'}: ${e.message ?? String(error)}` };
      }
      const transport = createTransport({
        host: address,
        ...(isIP(host) === 0 ? { servername: host } : {}),
        port: s.port,
        secure: s.tls === 'implicit',
        requireTLS: s.tls === 'starttls',
        ignoreTLS: s.tls === 'none',
        connectionTimeout: options.timeoutMs,
        greetingTimeout: options.timeoutMs,
        socketTimeout: options.timeoutMs,
        tls: { rejectUnauthorized: options.tlsRejectUnauthorized ?? true },
        ...(s.username === undefined ? {} : { auth: { user: s.username, pass: String(secrets.password ?? '') } }),
      });
      try {
        const info = await transport.sendMail(emailOf(n, s));
        return { outcome: 'delivered', status_code: 250, response: String(info.response ?? '').slice(0, 500), error: null };
      } catch (error) {
        const e = error as SmtpError;
        const code = typeof e.responseCode === 'number' ? e.responseCode : null;
        const text = (e.response ?? e.message ?? String(error)).slice(0, 500);
        if (code !== null && code >= 500) return { outcome: 'failed', status_code: code, response: text, error: `the SMTP server refused for good (${code}): ${e.code ? `${e.code}: ` : ''}${e.message ?? text}` };
        return { outcome: 'retry', status_code: code, response: code === null ? null : text, error: code === null ? `${e.code ?? 'error'}: ${e.message ?? text}` : null };
      } finally {
        transport.close();
      }
    },
  };
}
