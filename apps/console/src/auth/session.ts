/**
 * Server-side sessions for people signed in to the console. The browser holds a random 256-bit token
 * in an HttpOnly, SameSite=Strict cookie (Secure when the request came over TLS); the store keeps
 * only its SHA-256, with the user, the organization the session works in, and a CSRF token.
 *
 * A session slides: each use moves its expiry to `idleSeconds` from now (written at most every
 * `idleSeconds / 4`, at most once a minute), never past `absoluteSeconds` after sign-in. The role is read
 * with the session on every request (a join in the store), so a changed role or a removed member takes
 * effect at once. Roles map onto the API-key scopes: viewer → read; member → read, ingest;
 * admin → read, ingest, admin.
 *
 * CSRF: every state-changing request made with the session cookie must carry the session's token in
 * `X-CSRF-Token` (the console UI reads it from `GET /auth/session`); requests with an API key are not
 * cookie-authenticated and need none.
 *
 * @example
 *   const sessions = createSessions({ users: store.users });
 *   const { token, session } = await sessions.start({ userId, orgId, address, userAgent });
 *   setSessionCookie(c, token, session.expires_at);
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyScope, Role, SessionRecord, UserStore } from '@metronis/stores';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export const SESSION_COOKIE = 'metronis_session';
export const CSRF_HEADER = 'x-csrf-token';

export const ROLE_SCOPES: Record<Role, readonly ApiKeyScope[]> = Object.freeze({
  viewer: Object.freeze(['read'] as const),
  member: Object.freeze(['read', 'ingest'] as const),
  admin: Object.freeze(['read', 'ingest', 'admin'] as const),
});

export interface SessionOptions {
  users: UserStore;
  /** A session unused this long ends. Default 12 h. */
  idleSeconds?: number;
  /** A session ends this long after sign-in, used or not. Default 7 days. */
  absoluteSeconds?: number;
  /** Epoch milliseconds. Default Date.now. */
  clock?: () => number;
}

export interface ResolvedSession extends SessionRecord {
  token_hash: string;
}

export interface Sessions {
  readonly idleSeconds: number;
  start(who: { userId: string; orgId: string; address?: string | null; userAgent?: string | null }): Promise<{ token: string; session: ResolvedSession }>;
  /** The live session of a cookie's token, or null (unknown, expired, or no longer a member). */
  resolve(token: string): Promise<ResolvedSession | null>;
  end(tokenHash: string): Promise<void>;
  endAll(userId: string): Promise<number>;
  /** Called with the token hash (one session) or the user id (all of theirs) when sessions end here. */
  onEnded(listener: (ended: { tokenHash?: string; userId?: string }) => void): void;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function createSessions(options: SessionOptions): Sessions {
  const { users } = options;
  const idleSeconds = options.idleSeconds ?? 12 * 3600;
  const absoluteSeconds = options.absoluteSeconds ?? 7 * 86400;
  const clock = options.clock ?? Date.now;
  const touchEveryMs = Math.min(60_000, (idleSeconds * 1000) / 4);
  const listeners: Array<(ended: { tokenHash?: string; userId?: string }) => void> = [];
  const emit = (ended: { tokenHash?: string; userId?: string }) => listeners.forEach((l) => l(ended));

  const expiryFrom = (now: number, createdAt: number) => new Date(Math.min(now + idleSeconds * 1000, createdAt + absoluteSeconds * 1000));

  return {
    idleSeconds,
    async start(who) {
      const token = newToken();
      const tokenHash = hashToken(token);
      const now = clock();
      const csrf = randomBytes(24).toString('base64url');
      const expires = expiryFrom(now, now);
      await users.createSession({ token_hash: tokenHash, user_id: who.userId, org_id: who.orgId, csrf_token: csrf, expires_at: expires, address: who.address ?? null, user_agent: who.userAgent ?? null });
      const session = await users.findSession(tokenHash, new Date(now));
      if (session === null) throw new Error('the session just created cannot be read back (is the user a member of the organization?)');
      return { token, session: { ...session, token_hash: tokenHash } };
    },
    async resolve(token) {
      if (!TOKEN.test(token)) return null;
      const tokenHash = hashToken(token);
      const now = clock();
      const session = await users.findSession(tokenHash, new Date(now));
      if (session === null) return null;
      if (now - session.last_seen_at.getTime() >= touchEveryMs) {
        const expires = expiryFrom(now, session.created_at.getTime());
        await users.touchSession(tokenHash, new Date(now), expires);
        return { ...session, expires_at: expires, last_seen_at: new Date(now), token_hash: tokenHash };
      }
      return { ...session, token_hash: tokenHash };
    },
    async end(tokenHash) {
      await users.deleteSession(tokenHash);
      emit({ tokenHash });
    },
    async endAll(userId) {
      const count = await users.deleteUserSessions(userId);
      emit({ userId });
      return count;
    },
    onEnded(listener) {
      listeners.push(listener);
    },
  };
}

/** Whether the request reached us over TLS (directly, or through a proxy that says so). */
export function overTls(c: Context): boolean {
  return c.req.url.startsWith('https:') || c.req.header('x-forwarded-proto')?.toLowerCase() === 'https';
}

export function setSessionCookie(c: Context, token: string, expires: Date): void {
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', secure: overTls(c), path: '/', expires });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { httpOnly: true, sameSite: 'Strict', secure: overTls(c), path: '/' });
}

export function sessionTokenOf(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

/** The session cookie's token from a raw Cookie header (the WebSocket upgrade has no Hono context). */
export function sessionTokenFromHeader(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

/** The CSRF token sent matches the session's (constant time). */
export function csrfMatches(sent: string | undefined, expected: string): boolean {
  if (sent === undefined) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A request's Origin (or, without one, its Referer) names this server, or the browser sent neither.
 * Browsers send Origin on every cross-origin request and on same-origin POST/PUT/DELETE.
 */
export function sameOrigin(c: Context, allowed: readonly string[] = []): boolean {
  const origin = c.req.header('origin') ?? refererOrigin(c.req.header('referer'));
  if (origin === undefined) return true;
  const host = c.req.header('host');
  if (host === undefined) return false;
  const self = `${overTls(c) ? 'https' : 'http'}://${host}`;
  return origin === self || origin === new URL(c.req.url).origin || allowed.includes(origin);
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}

export const isUnsafeMethod = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
