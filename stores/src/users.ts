/**
 * People in the relational store: users who sign in to the console, their memberships of
 * organizations with a role, server-side sessions, invitations and one-time sign-in links.
 *
 * The store never sees a secret: passwords arrive hashed (scrypt, by the console), and every token
 * (session, invitation, sign-in link) arrives as its SHA-256, which is what is kept and looked up.
 * Reading a session joins the user's membership, so a member removed from an organization (or whose
 * role changed) is refused or downgraded on the next request, not when the session expires.
 *
 * @example
 *   const user = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', password_hash });
 *   await store.users.forOrg('acme').addMember(user.id, 'admin', actor);
 */
import type { Actor } from './tenancy.js';

export const ROLES = ['viewer', 'member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UserRecord {
  id: string;
  /** lower-case, as stored */
  email: string;
  name: string;
  created_at: Date;
  /** false until the user chose a password (a first admin who came in by a sign-in link) */
  has_password: boolean;
}

export interface MembershipRecord {
  org_id: string;
  org_name: string;
  role: Role;
}

export interface MemberRecord extends UserRecord {
  role: Role;
  joined_at: Date;
}

export interface NewSession {
  token_hash: string;
  user_id: string;
  org_id: string;
  csrf_token: string;
  expires_at: Date;
  address?: string | null;
  user_agent?: string | null;
}

/** A live session with who it is and their role in the session's organization now. */
export interface SessionRecord {
  user: UserRecord;
  org_id: string;
  role: Role;
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

export interface InvitationRecord {
  id: string;
  org_id: string;
  email: string;
  role: Role;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}

export interface OrgMembers {
  readonly orgId: string;
  listMembers(): Promise<MemberRecord[]>;
  /** Adds the user with a role (or changes the role of a member), audited `member.added`. */
  addMember(userId: string, role: Role, actor: Actor): Promise<void>;
  /** null when the user is not a member. Audited `member.role_changed`. */
  setRole(userId: string, role: Role, actor: Actor): Promise<MemberRecord | null>;
  /** Removes the membership and the user's sessions in this org; false when not a member. Audited `member.removed`. */
  removeMember(userId: string, actor: Actor): Promise<boolean>;
  /** Audited `member.invited` (the email and role; never the token). */
  createInvitation(invitation: { id: string; token_hash: string; email: string; role: Role; expires_at: Date }, actor: Actor): Promise<InvitationRecord>;
  listInvitations(): Promise<InvitationRecord[]>;
  /** null when no pending invitation has that id. Audited `invitation.revoked`. */
  revokeInvitation(id: string, actor: Actor): Promise<InvitationRecord | null>;
}

export interface UserStore {
  /** Throws ConflictError when the email is taken. */
  createUser(user: { email: string; name: string; password_hash: string | null }): Promise<UserRecord>;
  findUserByEmail(email: string): Promise<(UserRecord & { password_hash: string | null }) | null>;
  getUser(id: string): Promise<(UserRecord & { password_hash: string | null }) | null>;
  setPassword(userId: string, passwordHash: string): Promise<void>;
  listMemberships(userId: string): Promise<MembershipRecord[]>;
  /** The role of the user in the organization, or null. */
  roleIn(userId: string, orgId: string): Promise<Role | null>;
  forOrg(orgId: string): OrgMembers;
  /** Admins of the organization, oldest first. */
  admins(orgId: string): Promise<UserRecord[]>;

  createSession(session: NewSession): Promise<void>;
  /** The session if it exists, has not expired and its user is still a member of its organization. */
  findSession(tokenHash: string, now: Date): Promise<SessionRecord | null>;
  /** Moves the session's expiry (sliding) and last-seen time. */
  touchSession(tokenHash: string, now: Date, expiresAt: Date): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Every session of the user (sign out everywhere); the number removed. */
  deleteUserSessions(userId: string): Promise<number>;
  /** Removes expired sessions, invitations and links; the number of sessions removed. */
  sweepExpired(now: Date): Promise<number>;

  /** A pending invitation (not accepted, revoked or expired) by its token's hash. */
  findInvitation(tokenHash: string, now: Date): Promise<(InvitationRecord & { org_name: string }) | null>;
  /**
   * Accepts a pending invitation once: marks it accepted and adds the membership (audited
   * `member.joined` by the user), in one transaction. null when it is not pending any more.
   */
  acceptInvitation(tokenHash: string, userId: string, now: Date): Promise<InvitationRecord | null>;

  createSignInLink(link: { token_hash: string; user_id: string; org_id: string; expires_at: Date }): Promise<void>;
  /** Uses a link once: the user and organization, or null when unknown, used or expired. */
  consumeSignInLink(tokenHash: string, now: Date): Promise<{ user_id: string; org_id: string } | null>;
}
