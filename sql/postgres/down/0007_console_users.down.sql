-- Reverts 0007_console_users: every user, membership, session, invitation and sign-in link is dropped.
DROP TABLE IF EXISTS "sign_in_links";
DROP TABLE IF EXISTS "invitations";
DROP TABLE IF EXISTS "sessions";
DROP TABLE IF EXISTS "memberships";
DROP TABLE IF EXISTS "users";
