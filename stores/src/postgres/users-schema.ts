/**
 * The drizzle definitions of the console's people tables (migration 0007_console_users, hand-written):
 * users, memberships, sessions, invitations and one-time sign-in links. Kept apart from schema.ts so
 * that the tenancy tables and these evolve without touching each other.
 */
import { index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

const tz = { withTimezone: true, mode: 'date' } as const;

export const users = pgTable('users', {
  id: text('id').primaryKey(),
  email: text('email').notNull().unique('users_email_unique'),
  name: text('name').notNull().default(''),
  /** `scrypt$N$r$p$salt$hash` (base64url); null until the user chose a password */
  passwordHash: text('password_hash'),
  createdAt: timestamp('created_at', tz).notNull().defaultNow(),
  passwordChangedAt: timestamp('password_changed_at', tz),
});

export const memberships = pgTable(
  'memberships',
  {
    userId: text('user_id').notNull(),
    orgId: text('org_id').notNull(),
    role: text('role').notNull(),
    createdAt: timestamp('created_at', tz).notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'memberships_pkey', columns: [t.userId, t.orgId] }), index('memberships_org_idx').on(t.orgId)],
);

export const sessions = pgTable('sessions', {
  /** hex SHA-256 of the cookie's token */
  tokenHash: text('token_hash').primaryKey(),
  userId: text('user_id').notNull(),
  orgId: text('org_id').notNull(),
  csrfToken: text('csrf_token').notNull(),
  createdAt: timestamp('created_at', tz).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', tz).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', tz).notNull(),
  address: text('address'),
  userAgent: text('user_agent'),
});

export const invitations = pgTable('invitations', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull().unique('invitations_token_hash_unique'),
  orgId: text('org_id').notNull(),
  email: text('email').notNull(),
  role: text('role').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', tz).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', tz).notNull(),
  acceptedAt: timestamp('accepted_at', tz),
  revokedAt: timestamp('revoked_at', tz),
});

export const signInLinks = pgTable('sign_in_links', {
  tokenHash: text('token_hash').primaryKey(),
  userId: text('user_id').notNull(),
  orgId: text('org_id').notNull(),
  createdAt: timestamp('created_at', tz).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', tz).notNull(),
  usedAt: timestamp('used_at', tz),
});
