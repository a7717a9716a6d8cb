/**
 * Signing in and out of the console (`/auth/*`). Answers are JSON; errors use the console's envelope.
 *
 * - `GET /auth/session`: who is signed in: `{ user, organization, role, scopes, memberships, csrf_token, expires_at }`, or 401 `not_signed_in`.
 * - `POST /auth/sign-in` `{ email, password }`: starts a session (sets the cookie); 401 `invalid_credentials`
 *   for an unknown email and a wrong password alike; 429 `too_many_attempts` (with `Retry-After`) past the
 *   per-account or per-address limit.
 * - `POST /auth/sign-in/link` `{ token }`: a one-time sign-in link (`npm start` prints one for the first admin).
 * - `POST /auth/sign-out`: ends this session; `POST /auth/sign-out/everywhere`: every session of the user.
 * - `POST /auth/password` `{ current_password?, new_password }`: sets the password (the current one is
 *   required once there is one) and ends the user's other sessions.
 * - `POST /auth/organization` `{ org_id }`: works in another organization the user belongs to (a new session).
 * - `GET /auth/invitations/:token`, `POST /auth/invitations/accept` `{ token, name?, password }`: join by invitation.
 *
 * Brute force: every sign-in attempt takes from two buckets of the shared rate limiter (Redis across
 * instances when configured): the account's (10 at once, then one every 3 minutes) and the client
 * address's (30 at once, then one every 20 s). Session-cookie requests that change state need
 * `X-CSRF-Token` (session.ts) and a same-origin `Origin`; these routes check it themselves.
 */
import type { RateLimiter } from '@metronis/ingest-gateway';
import { ConflictError, type UserStore } from '@metronis/stores';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ApiError, jsonBodyLimit, readJson, type ConsoleEnv } from '../http.js';
import { burnPasswordTime, DEFAULT_PASSWORD_COST, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword, type PasswordCost } from './password.js';
import { clearSessionCookie, csrfMatches, CSRF_HEADER, hashToken, ROLE_SCOPES, sameOrigin, sessionTokenOf, setSessionCookie, type ResolvedSession, type Sessions } from './session.js';

export interface AuthRoutesOptions {
  users: UserStore;
  sessions: Sessions;
  /** Brute-force buckets; a process-local limiter when the deployment has no shared one. */
  limiter: RateLimiter;
  passwordCost?: PasswordCost;
  /** Origins besides this server's own that may post (the CORS allow-list). */
  allowedOrigins?: readonly string[];
  clock?: () => number;
}

/** Cost of one attempt in GCRA units (rate 1 unit/s): the account's bucket refills one attempt per 180 s. */
const ACCOUNT = { cost: 180, limit: { rate: 1, burst: 180 * 10 } };
const ADDRESS = { cost: 20, limit: { rate: 1, burst: 20 * 30 } };

/** Text the database can hold: no control characters (U+0000 above all). */
export const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
export const email = z.string().trim().toLowerCase().min(3).max(320).regex(/^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+$/, 'must look like name@domain');
const password = z.string().min(MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`).max(MAX_PASSWORD_LENGTH);
const token = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a token this server issued');

const signInSchema = z.strictObject({ email, password: z.string().min(1, 'required').max(MAX_PASSWORD_LENGTH) });
const linkSchema = z.strictObject({ token });
const passwordSchema = z.strictObject({ current_password: z.string().max(MAX_PASSWORD_LENGTH).optional(), new_password: password });
const orgSchema = z.strictObject({ org_id: z.string().min(1).max(200).regex(PRINTABLE, 'no control characters') });
const acceptSchema = z.strictObject({ token, name: z.string().trim().max(100).regex(PRINTABLE, 'no control characters').optional(), password });

export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createAuthRoutes(options: AuthRoutesOptions): Hono<ConsoleEnv> {
  const { users, sessions, limiter } = options;
  const cost = options.passwordCost ?? DEFAULT_PASSWORD_COST;
  const clock = options.clock ?? Date.now;
  const routes = new Hono<ConsoleEnv>();
  const limit = jsonBodyLimit(8 * 1024);

  /** Posts must come from our own pages: same origin (cross-site forms cannot set JSON content types, but check anyway). */
  routes.use('*', async function sameOriginPosts(c, next) {
    if (c.req.method === 'POST' && !sameOrigin(c, options.allowedOrigins)) throw new ApiError(403, 'cross_origin_refused', 'This request came from another origin.');
    await next();
  });

  async function view(session: ResolvedSession) {
    const memberships = await users.listMemberships(session.user.id);
    const organization = memberships.find((m) => m.org_id === session.org_id);
    return {
      user: session.user,
      organization: { id: session.org_id, name: organization?.org_name ?? session.org_id },
      role: session.role,
      scopes: ROLE_SCOPES[session.role],
      memberships,
      csrf_token: session.csrf_token,
      expires_at: session.expires_at,
    };
  }

  async function begin(c: Context<ConsoleEnv>, userId: string, orgId: string) {
    const { token: cookie, session } = await sessions.start({ userId, orgId, address: clientAddress(c), userAgent: c.req.header('user-agent') ?? null });
    setSessionCookie(c, cookie, session.expires_at);
    return c.json(await view(session));
  }

  async function current(c: Context<ConsoleEnv>, requireCsrf: boolean): Promise<ResolvedSession> {
    const cookie = sessionTokenOf(c);
    const session = cookie === undefined ? null : await sessions.resolve(cookie);
    if (session === null) {
      if (cookie !== undefined) clearSessionCookie(c);
      throw new ApiError(401, 'not_signed_in', cookie === undefined ? 'Not signed in.' : 'Your session has ended; sign in again.');
    }
    if (requireCsrf && !csrfMatches(c.req.header(CSRF_HEADER), session.csrf_token)) throw new ApiError(403, 'csrf_failed', `Missing or wrong ${CSRF_HEADER} header for this session.`);
    return session;
  }

  async function takeAttempt(key: string, bucket: typeof ACCOUNT, what: string) {
    const decision = await limiter.take(key, bucket.cost, bucket.limit);
    if (!decision.allowed) {
      throw new ApiError(429, 'too_many_attempts', `Too many sign-in attempts for this ${what}; try again later.`, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) } });
    }
  }

  routes.get('/session', async (c) => c.json(await view(await current(c, false))));

  routes.post('/sign-in', limit, async (c) => {
    const body = await readJson(c, signInSchema);
    await takeAttempt(`signin:address:${clientAddress(c)}`, ADDRESS, 'address');
    await takeAttempt(`signin:account:${body.email}`, ACCOUNT, 'account');
    const user = await users.findUserByEmail(body.email);
    const ok = user?.password_hash != null ? await verifyPassword(body.password, user.password_hash) : (await burnPasswordTime(body.password, cost), false);
    if (!ok || user === null) throw new ApiError(401, 'invalid_credentials', 'Wrong email or password.');
    const memberships = await users.listMemberships(user.id);
    const first = memberships[0];
    if (first === undefined) throw new ApiError(403, 'no_organization', 'This account is not a member of any organization.');
    return begin(c, user.id, first.org_id);
  });

  routes.post('/sign-in/link', limit, async (c) => {
    const body = await readJson(c, linkSchema);
    await takeAttempt(`signin:address:${clientAddress(c)}`, ADDRESS, 'address');
    const link = await users.consumeSignInLink(hashToken(body.token), new Date(clock()));
    if (link === null) throw new ApiError(401, 'invalid_link', 'This sign-in link is unknown, used or expired; start the server again for a new one, or sign in with your password.');
    return begin(c, link.user_id, link.org_id);
  });

  routes.post('/sign-out', async (c) => {
    const session = await current(c, true);
    await sessions.end(session.token_hash);
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  routes.post('/sign-out/everywhere', async (c) => {
    const session = await current(c, true);
    const ended = await sessions.endAll(session.user.id);
    clearSessionCookie(c);
    return c.json({ sessions_ended: ended });
  });

  routes.post('/password', limit, async (c) => {
    const session = await current(c, true);
    const body = await readJson(c, passwordSchema);
    const user = await users.getUser(session.user.id);
    if (user === null) throw new ApiError(401, 'not_signed_in', 'Your session has ended; sign in again.');
    if (user.password_hash !== null) {
      await takeAttempt(`signin:account:${user.email}`, ACCOUNT, 'account');
      if (body.current_password === undefined || !(await verifyPassword(body.current_password, user.password_hash))) {
        throw new ApiError(400, 'invalid_body', '$.current_password: wrong password', { issues: [{ path: '$.current_password', message: 'wrong password' }] });
      }
    }
    await users.setPassword(user.id, await hashPassword(body.new_password, cost));
    // Everyone else holding a session of this user is signed out; this browser gets a fresh session.
    await sessions.endAll(user.id);
    return begin(c, user.id, session.org_id);
  });

  routes.post('/organization', limit, async (c) => {
    const session = await current(c, true);
    const body = await readJson(c, orgSchema);
    const role = await users.roleIn(session.user.id, body.org_id);
    if (role === null) throw new ApiError(404, 'not_found', `You are not a member of an organization '${body.org_id.slice(0, 200)}'.`);
    await sessions.end(session.token_hash);
    return begin(c, session.user.id, body.org_id);
  });

  routes.get('/invitations/:token', async (c) => {
    const parsed = token.safeParse(c.req.param('token'));
    const invitation = parsed.success ? await users.findInvitation(hashToken(parsed.data), new Date(clock())) : null;
    if (invitation === null) throw new ApiError(404, 'not_found', 'This invitation is unknown, used, revoked or expired.');
    const existing = await users.findUserByEmail(invitation.email);
    return c.json({ email: invitation.email, organization: { id: invitation.org_id, name: invitation.org_name }, role: invitation.role, expires_at: invitation.expires_at, existing_user: existing !== null });
  });

  routes.post('/invitations/accept', limit, async (c) => {
    const body = await readJson(c, acceptSchema);
    await takeAttempt(`signin:address:${clientAddress(c)}`, ADDRESS, 'address');
    const tokenHash = hashToken(body.token);
    const invitation = await users.findInvitation(tokenHash, new Date(clock()));
    if (invitation === null) throw new ApiError(404, 'not_found', 'This invitation is unknown, used, revoked or expired.');
    let user = await users.findUserByEmail(invitation.email);
    if (user === null) {
      try {
        const created = await users.createUser({ email: invitation.email, name: body.name ?? '', password_hash: await hashPassword(body.password, cost) });
        user = { ...created, password_hash: null };
      } catch (error) {
        if (error instanceof ConflictError) throw new ApiError(409, 'conflict', 'An account with this email was created meanwhile; sign in with it and open the invitation again.', { cause: error });
        throw error;
      }
    } else {
      await takeAttempt(`signin:account:${user.email}`, ACCOUNT, 'account');
      if (user.password_hash === null || !(await verifyPassword(body.password, user.password_hash))) {
        throw new ApiError(401, 'invalid_credentials', 'An account with this email exists: enter its password to join.');
      }
    }
    const accepted = await users.acceptInvitation(tokenHash, user.id, new Date(clock()));
    if (accepted === null) throw new ApiError(404, 'not_found', 'This invitation is unknown, used, revoked or expired.');
    return begin(c, user.id, accepted.org_id);
  });

  return routes;
}
