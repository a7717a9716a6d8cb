/**
 * The organization's people (`/v1/members`, `/v1/invitations`): who may sign in to it and with which
 * role. Reading the members needs `read`; everything else `admin`. Every change is audited.
 *
 * - `GET /v1/members` → `{ members: [{ id, email, name, role, joined_at }] }`
 * - `PUT /v1/members/:user_id` `{ role }`, `DELETE /v1/members/:user_id` (also ends their sessions in
 *   this organization). The last admin can be neither demoted nor removed (409), so an organization
 *   always has someone who can administer it.
 * - `GET /v1/invitations`; `POST /v1/invitations` `{ email, role }` → 201 `{ invitation, link, delivery }`:
 *   the link is in this answer only (its token is stored hashed). Email delivery is not built yet
 *   (it comes with the alerts issue's SMTP support): `delivery` says `not_sent` and the admin passes
 *   the link on. `DELETE /v1/invitations/:id` revokes a pending one.
 */
import { randomBytes } from 'node:crypto';
import { ROLES, type UserStore } from '@metronis/stores';
import { Hono } from 'hono';
import { z } from 'zod';
import { email } from './auth/routes.js';
import { hashToken, newToken } from './auth/session.js';
import { ApiError, jsonBodyLimit, readJson, requireScope, type ConsoleEnv } from './http.js';

export interface MemberRoutesOptions {
  users: UserStore;
  /** How long an invitation stays valid. Default 7 days. */
  invitationTtlMs?: number;
  /** Sends the invitation by email when the deployment can (the alerts issue's SMTP support); absent: shown once. */
  sendInvitation?: (invitation: { email: string; link: string; organization: string }) => Promise<void>;
  clock?: () => number;
}

const roleSchema = z.strictObject({ role: z.enum(ROLES) });
const inviteSchema = z.strictObject({ email, role: z.enum(ROLES) });

/** An id no row can have (Postgres text holds no U+0000; ids are short): nothing to find. */
const unusable = (id: string) => id.length === 0 || id.length > 1000 || id.includes('\u0000');

export function createMemberRoutes(options: MemberRoutesOptions): Hono<ConsoleEnv> {
  const { users } = options;
  const ttl = options.invitationTtlMs ?? 7 * 86_400_000;
  const clock = options.clock ?? Date.now;
  const routes = new Hono<ConsoleEnv>();
  const limit = jsonBodyLimit(4 * 1024);
  const members = (orgId: string) => users.forOrg(orgId);

  async function refuseLastAdmin(orgId: string, userId: string, what: string) {
    const admins = await users.admins(orgId);
    if (admins.length === 1 && admins[0]!.id === userId) throw new ApiError(409, 'conflict', `The organization's last admin cannot be ${what}; make someone else admin first.`);
  }

  routes.get('/members', async (c) => {
    requireScope(c, 'read', 'admin');
    const list = await members(c.get('principal').orgId).listMembers();
    return c.json({ members: list.map(({ id, email, name, role, joined_at, has_password }) => ({ id, email, name, role, joined_at, has_password })) });
  });

  routes.put('/members/:user_id', limit, async (c) => {
    requireScope(c, 'admin');
    const { role } = await readJson(c, roleSchema);
    const { orgId } = c.get('principal');
    const userId = c.req.param('user_id');
    if (unusable(userId)) throw new ApiError(404, 'not_found', 'No member with this id.');
    if (role !== 'admin') await refuseLastAdmin(orgId, userId, 'demoted');
    const member = await members(orgId).setRole(userId, role, c.get('tenant').actor);
    if (member === null) throw new ApiError(404, 'not_found', `No member with id '${userId.slice(0, 200)}'.`);
    return c.json({ id: member.id, email: member.email, name: member.name, role: member.role, joined_at: member.joined_at });
  });

  routes.delete('/members/:user_id', async (c) => {
    requireScope(c, 'admin');
    const { orgId } = c.get('principal');
    const userId = c.req.param('user_id');
    if (unusable(userId)) throw new ApiError(404, 'not_found', 'No member with this id.');
    await refuseLastAdmin(orgId, userId, 'removed');
    if (!(await members(orgId).removeMember(userId, c.get('tenant').actor))) throw new ApiError(404, 'not_found', `No member with id '${userId.slice(0, 200)}'.`);
    return c.body(null, 204);
  });

  routes.get('/invitations', async (c) => {
    requireScope(c, 'admin');
    return c.json({ invitations: await members(c.get('principal').orgId).listInvitations() });
  });

  routes.post('/invitations', limit, async (c) => {
    requireScope(c, 'admin');
    const body = await readJson(c, inviteSchema);
    const { orgId } = c.get('principal');
    const token = newToken();
    const invitation = await members(orgId).createInvitation(
      { id: `inv_${randomBytes(8).toString('hex')}`, token_hash: hashToken(token), email: body.email, role: body.role, expires_at: new Date(clock() + ttl) },
      c.get('tenant').actor,
    );
    const link = `${new URL(c.req.url).origin}/invite#token=${token}`;
    let delivery: { status: 'sent' | 'not_sent' | 'failed'; reason?: string } = { status: 'not_sent', reason: 'email delivery is not configured: pass the link on yourself; it is shown only in this answer' };
    if (options.sendInvitation !== undefined) {
      try {
        await options.sendInvitation({ email: body.email, link, organization: orgId });
        delivery = { status: 'sent' };
      } catch (error) {
        delivery = { status: 'failed', reason: `the email could not be sent (${(error as Error).message.slice(0, 200)}); pass the link on yourself` };
      }
    }
    return c.json({ invitation, link, delivery }, 201);
  });

  routes.delete('/invitations/:id', async (c) => {
    requireScope(c, 'admin');
    const id = c.req.param('id');
    if (unusable(id)) throw new ApiError(404, 'not_found', 'No pending invitation with this id.');
    const revoked = await members(c.get('principal').orgId).revokeInvitation(id, c.get('tenant').actor);
    if (revoked === null) throw new ApiError(404, 'not_found', `No pending invitation with id '${id.slice(0, 200)}'.`);
    return c.json(revoked);
  });

  return routes;
}
