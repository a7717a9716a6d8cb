/**
 * The UserStore (../users.ts) on the same drizzle database as the rest of the relational store:
 * users, memberships, sessions, invitations and sign-in links. Membership changes append their audit
 * entry in the same transaction as the change, as every admin action does.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { ConflictError, InvalidRecordError, storeError } from '../errors.js';
import type { Actor, AuditAction } from '../tenancy.js';
import type { RelationalStore } from '../types.js';
import { ROLES, type InvitationRecord, type MemberRecord, type OrgMembers, type Role, type UserRecord, type UserStore } from '../users.js';
import type { AnyPgDatabase } from './relational-store.js';
import { auditLog, organizations } from './schema.js';
import { invitations, memberships, sessions, signInLinks, users } from './users-schema.js';

const EMAIL = /^[^\s@\u0000-\u001f]{1,200}@[^\s@\u0000-\u001f]{1,200}$/;

function toUser(row: typeof users.$inferSelect): UserRecord {
  return { id: row.id, email: row.email, name: row.name, created_at: row.createdAt, has_password: row.passwordHash !== null };
}

function toInvitation(row: typeof invitations.$inferSelect): InvitationRecord {
  return {
    id: row.id,
    org_id: row.orgId,
    email: row.email,
    role: row.role as Role,
    created_by: row.createdBy,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    accepted_at: row.acceptedAt,
    revoked_at: row.revokedAt,
  };
}

function checkRole(operation: string, role: string): asserts role is Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new InvalidRecordError(operation, `role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
}

export function createUserStore(kind: RelationalStore['kind'], db: AnyPgDatabase): UserStore {
  async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (error instanceof ConflictError || error instanceof InvalidRecordError) throw error;
      throw storeError(`${kind} ${operation}`, error);
    }
  }
  const transaction = <T>(body: (tx: AnyPgDatabase) => Promise<T>): Promise<T> => db.transaction((tx) => body(tx as unknown as AnyPgDatabase));
  const audit = (tx: AnyPgDatabase, orgId: string, action: AuditAction, target: string, details: Record<string, unknown>, actor: Actor) =>
    tx.insert(auditLog).values({ orgId, actor: actor.keyId, action, target, requestId: actor.requestId ?? null, details });

  async function memberRow(tx: AnyPgDatabase, orgId: string, userId: string): Promise<MemberRecord | null> {
    const [row] = await tx
      .select({ user: users, role: memberships.role, joined: memberships.createdAt })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
      .limit(1);
    return row === undefined ? null : { ...toUser(row.user), role: row.role as Role, joined_at: row.joined };
  }

  function forOrg(orgId: string): OrgMembers {
    if (typeof orgId !== 'string' || orgId.length === 0) throw new InvalidRecordError(`${kind} users.forOrg`, 'organization id must be a non-empty string');
    return {
      orgId,
      async listMembers() {
        const rows = await run('listMembers', () =>
          db
            .select({ user: users, role: memberships.role, joined: memberships.createdAt })
            .from(memberships)
            .innerJoin(users, eq(users.id, memberships.userId))
            .where(eq(memberships.orgId, orgId))
            .orderBy(asc(memberships.createdAt), asc(users.email)),
        );
        return rows.map((row) => ({ ...toUser(row.user), role: row.role as Role, joined_at: row.joined }));
      },
      async addMember(userId, role, actor) {
        checkRole(`${kind} addMember`, role);
        await run('addMember', () =>
          transaction(async (tx) => {
            await tx.insert(memberships).values({ userId, orgId, role }).onConflictDoUpdate({ target: [memberships.userId, memberships.orgId], set: { role } });
            await audit(tx, orgId, 'member.added', userId, { role }, actor);
          }),
        );
      },
      async setRole(userId, role, actor) {
        checkRole(`${kind} setRole`, role);
        return run('setRole', () =>
          transaction(async (tx) => {
            const [row] = await tx.update(memberships).set({ role }).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId))).returning();
            if (row === undefined) return null;
            await audit(tx, orgId, 'member.role_changed', userId, { role }, actor);
            return memberRow(tx, orgId, userId);
          }),
        );
      },
      async removeMember(userId, actor) {
        return run('removeMember', () =>
          transaction(async (tx) => {
            const removed = await tx.delete(memberships).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId))).returning();
            if (removed.length === 0) return false;
            await tx.delete(sessions).where(and(eq(sessions.orgId, orgId), eq(sessions.userId, userId)));
            await audit(tx, orgId, 'member.removed', userId, { role: removed[0]!.role }, actor);
            return true;
          }),
        );
      },
      async createInvitation(invitation, actor) {
        checkRole(`${kind} createInvitation`, invitation.role);
        const email = invitation.email.trim().toLowerCase();
        if (!EMAIL.test(email)) throw new InvalidRecordError(`${kind} createInvitation`, 'email must look like name@domain');
        return run('createInvitation', () =>
          transaction(async (tx) => {
            const [row] = await tx
              .insert(invitations)
              .values({ id: invitation.id, tokenHash: invitation.token_hash, orgId, email, role: invitation.role, createdBy: actor.keyId, expiresAt: invitation.expires_at })
              .returning();
            await audit(tx, orgId, 'member.invited', email, { role: invitation.role, invitation_id: invitation.id, expires_at: invitation.expires_at.toISOString() }, actor);
            return toInvitation(row!);
          }),
        );
      },
      async listInvitations() {
        const rows = await run('listInvitations', () => db.select().from(invitations).where(eq(invitations.orgId, orgId)).orderBy(desc(invitations.createdAt)).limit(200));
        return rows.map(toInvitation);
      },
      async revokeInvitation(id, actor) {
        return run('revokeInvitation', () =>
          transaction(async (tx) => {
            const [row] = await tx
              .update(invitations)
              .set({ revokedAt: sql`now()` })
              .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
              .returning();
            if (row === undefined) return null;
            await audit(tx, orgId, 'invitation.revoked', row.email, { invitation_id: id }, actor);
            return toInvitation(row);
          }),
        );
      },
    };
  }

  return {
    async createUser(user) {
      const email = user.email.trim().toLowerCase();
      if (!EMAIL.test(email)) throw new InvalidRecordError(`${kind} createUser`, 'email must look like name@domain');
      return run('createUser', async () => {
        const [row] = await db
          .insert(users)
          .values({ id: `usr_${randomBytes(8).toString('hex')}`, email, name: user.name, passwordHash: user.password_hash, passwordChangedAt: user.password_hash === null ? null : new Date() })
          .onConflictDoNothing({ target: users.email })
          .returning();
        if (row === undefined) throw new ConflictError(`${kind} createUser`, `a user with email ${JSON.stringify(email)} exists`);
        return toUser(row);
      });
    },
    async findUserByEmail(email) {
      const [row] = await run('findUserByEmail', () => db.select().from(users).where(eq(users.email, email.trim().toLowerCase())).limit(1));
      return row === undefined ? null : { ...toUser(row), password_hash: row.passwordHash };
    },
    async getUser(id) {
      const [row] = await run('getUser', () => db.select().from(users).where(eq(users.id, id)).limit(1));
      return row === undefined ? null : { ...toUser(row), password_hash: row.passwordHash };
    },
    async setPassword(userId, passwordHash) {
      await run('setPassword', () => db.update(users).set({ passwordHash, passwordChangedAt: sql`now()` }).where(eq(users.id, userId)));
    },
    async listMemberships(userId) {
      const rows = await run('listMemberships', () =>
        db
          .select({ org_id: memberships.orgId, org_name: organizations.name, role: memberships.role })
          .from(memberships)
          .innerJoin(organizations, eq(organizations.id, memberships.orgId))
          .where(eq(memberships.userId, userId))
          .orderBy(asc(memberships.createdAt)),
      );
      return rows.map((r) => ({ ...r, role: r.role as Role }));
    },
    async roleIn(userId, orgId) {
      const [row] = await run('roleIn', () => db.select({ role: memberships.role }).from(memberships).where(and(eq(memberships.userId, userId), eq(memberships.orgId, orgId))).limit(1));
      return row === undefined ? null : (row.role as Role);
    },
    forOrg,
    async admins(orgId) {
      const rows = await run('admins', () =>
        db
          .select({ user: users })
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(and(eq(memberships.orgId, orgId), eq(memberships.role, 'admin')))
          .orderBy(asc(memberships.createdAt)),
      );
      return rows.map((r) => toUser(r.user));
    },

    async createSession(session) {
      await run('createSession', () =>
        db.insert(sessions).values({
          tokenHash: session.token_hash,
          userId: session.user_id,
          orgId: session.org_id,
          csrfToken: session.csrf_token,
          expiresAt: session.expires_at,
          address: session.address?.slice(0, 100) ?? null,
          userAgent: session.user_agent?.slice(0, 300) ?? null,
        }),
      );
    },
    async findSession(tokenHash, now) {
      const [row] = await run('findSession', () =>
        db
          .select({ session: sessions, user: users, role: memberships.role })
          .from(sessions)
          .innerJoin(users, eq(users.id, sessions.userId))
          .innerJoin(memberships, and(eq(memberships.userId, sessions.userId), eq(memberships.orgId, sessions.orgId)))
          .where(and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, now)))
          .limit(1),
      );
      if (row === undefined) return null;
      const s = row.session;
      return { user: toUser(row.user), org_id: s.orgId, role: row.role as Role, csrf_token: s.csrfToken, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt };
    },
    async touchSession(tokenHash, now, expiresAt) {
      await run('touchSession', () => db.update(sessions).set({ lastSeenAt: now, expiresAt }).where(eq(sessions.tokenHash, tokenHash)));
    },
    async deleteSession(tokenHash) {
      await run('deleteSession', () => db.delete(sessions).where(eq(sessions.tokenHash, tokenHash)));
    },
    async deleteUserSessions(userId) {
      const removed = await run('deleteUserSessions', () => db.delete(sessions).where(eq(sessions.userId, userId)).returning({ t: sessions.tokenHash }));
      return removed.length;
    },
    async sweepExpired(now) {
      return run('sweepExpired', async () => {
        const removed = await db.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ t: sessions.tokenHash });
        await db.delete(signInLinks).where(or(lt(signInLinks.expiresAt, now), sql`${signInLinks.usedAt} IS NOT NULL`));
        return removed.length;
      });
    },

    async findInvitation(tokenHash, now) {
      const [row] = await run('findInvitation', () =>
        db
          .select({ invitation: invitations, orgName: organizations.name })
          .from(invitations)
          .innerJoin(organizations, eq(organizations.id, invitations.orgId))
          .where(and(eq(invitations.tokenHash, tokenHash), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now)))
          .limit(1),
      );
      return row === undefined ? null : { ...toInvitation(row.invitation), org_name: row.orgName };
    },
    async acceptInvitation(tokenHash, userId, now) {
      return run('acceptInvitation', () =>
        transaction(async (tx) => {
          const [row] = await tx
            .update(invitations)
            .set({ acceptedAt: now })
            .where(and(eq(invitations.tokenHash, tokenHash), isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now)))
            .returning();
          if (row === undefined) return null;
          await tx.insert(memberships).values({ userId, orgId: row.orgId, role: row.role }).onConflictDoUpdate({ target: [memberships.userId, memberships.orgId], set: { role: row.role } });
          await audit(tx, row.orgId, 'member.joined', userId, { role: row.role, invitation_id: row.id }, { keyId: userId });
          return toInvitation(row);
        }),
      );
    },

    async createSignInLink(link) {
      await run('createSignInLink', () => db.insert(signInLinks).values({ tokenHash: link.token_hash, userId: link.user_id, orgId: link.org_id, expiresAt: link.expires_at }));
    },
    async consumeSignInLink(tokenHash, now) {
      const [row] = await run('consumeSignInLink', () =>
        db
          .update(signInLinks)
          .set({ usedAt: now })
          .where(and(eq(signInLinks.tokenHash, tokenHash), isNull(signInLinks.usedAt), gt(signInLinks.expiresAt, now)))
          .returning({ user_id: signInLinks.userId, org_id: signInLinks.orgId }),
      );
      return row ?? null;
    },
  };
}
