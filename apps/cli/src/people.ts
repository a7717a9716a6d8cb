/**
 * The console's people and live channel, composed for `metronis dev` and `metronis console`: sessions
 * over the store's users, the sign-in limiter (the process's rate limiter: Redis-shared when
 * REDIS_URL is set), the first admin's one-time sign-in link, the built UI, and the live channel (a
 * tail of the log feeding a hub that WebSockets subscribe to).
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createLiveHub, createLiveSockets, createSessions, hashToken, loadWebAssets, newToken, type LiveSockets, type Sessions, type WebAssets } from '@metronis/console';
import type { RateLimiter } from '@metronis/ingest-gateway';
import type { RelationalStore, UserStore } from '@metronis/stores';
import { startLiveFeed } from '@metronis/console';
import type { Log, Serde } from '@metronis/streams';
import type { Logger } from './logger.js';

export interface ConsolePeople {
  users: UserStore;
  sessions: Sessions;
  signInLimiter: RateLimiter;
}

export function consolePeople(store: RelationalStore, limiter: RateLimiter, idleSeconds: number): ConsolePeople {
  return { users: store.users, sessions: createSessions({ users: store.users, idleSeconds }), signInLimiter: limiter };
}

/** The email of the first admin that `npm start` creates; they choose their own in settings. */
export const FIRST_ADMIN_EMAIL = 'admin@metronis.local';
const LINK_TTL_MS = 24 * 3_600_000;

/**
 * A one-time sign-in link for the organization's first admin (created, without a password, when the
 * organization has no admin yet), valid for 24 hours. The token is in the URL's fragment, so it never
 * reaches a server log; the page posts it once.
 */
export async function firstAdminSignInLink(store: RelationalStore, orgId: string, baseUrl: string, now = Date.now()): Promise<{ link: string; email: string }> {
  let admin = (await store.users.admins(orgId))[0];
  if (admin === undefined) {
    const existing = await store.users.findUserByEmail(FIRST_ADMIN_EMAIL);
    admin = existing ?? (await store.users.createUser({ email: FIRST_ADMIN_EMAIL, name: 'Admin', password_hash: null }));
    await store.users.forOrg(orgId).addMember(admin.id, 'admin', { keyId: 'cli' });
  }
  const token = newToken();
  await store.users.createSignInLink({ token_hash: hashToken(token), user_id: admin.id, org_id: orgId, expires_at: new Date(now + LINK_TTL_MS) });
  return { link: `${baseUrl}/sign-in/link#token=${token}`, email: admin.email };
}

/** The built UI (apps/console-web/dist), or undefined with a warning when it was not built. */
export async function consoleWeb(logger: Logger): Promise<WebAssets | undefined> {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('@metronis/console-web/package.json')), 'dist');
  } catch {
    logger.warn({}, 'the console UI package is not installed; GET / answers 501');
    return undefined;
  }
  const web = await loadWebAssets(dir);
  if (web === undefined) logger.warn({ dir }, 'the console UI is not built (npm run build); GET / answers 501');
  return web;
}

/** The live channel of this instance: its own tail of the log, the hub, and the WebSocket endpoint. */
export async function startLiveChannel(deps: { log: Log; serde: Serde; sessions: Sessions; logger: Logger; allowedOrigins?: readonly string[] }): Promise<{ sockets: LiveSockets; closeFeed(): Promise<void> }> {
  const hub = createLiveHub();
  const feed = await startLiveFeed({ log: deps.log, serde: deps.serde, hub, name: 'console', logger: deps.logger });
  const sockets = createLiveSockets({ hub, sessions: deps.sessions, logger: deps.logger, allowedOrigins: deps.allowedOrigins ?? [] });
  return {
    sockets,
    async closeFeed() {
      await feed.close();
      hub.close();
    },
  };
}
