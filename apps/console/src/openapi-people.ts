/**
 * The OpenAPI paths of people in the console (auth/routes.ts, members.ts): signing in and out,
 * invitations and members. Part of the console's one document (openapi.ts). The `/live` WebSocket is
 * described in the console README (OpenAPI has no WebSocket operations).
 */
type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const requestIdHeader = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
const error = (description: string): Json => ({ description, headers: requestIdHeader, content: { 'application/json': { schema: ref('ConsoleError') } } });
const object = (properties: Json, required: string[] = []): Json => ({ type: 'object', properties, required, additionalProperties: false });
const jsonBody = (schema: Json): Json => ({ required: true, content: { 'application/json': { schema } } });
const answer = (description: string, schema: Json): Json => ({ description, headers: requestIdHeader, content: { 'application/json': { schema } } });

const role = { type: 'string', enum: ['viewer', 'member', 'admin'] };
const sessionView = object(
  {
    user: object({ id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, created_at: { type: 'string' }, has_password: { type: 'boolean' } }),
    organization: object({ id: { type: 'string' }, name: { type: 'string' } }),
    role,
    scopes: { type: 'array', items: { type: 'string' } },
    memberships: { type: 'array', items: object({ org_id: { type: 'string' }, org_name: { type: 'string' }, role }) },
    csrf_token: { type: 'string', description: 'Send it as X-CSRF-Token with every change made with the session cookie.' },
    expires_at: { type: 'string' },
  },
  ['user', 'organization', 'role', 'scopes', 'csrf_token'],
);
const signedIn = answer('Signed in: the session cookie is set (HttpOnly, SameSite=Strict, Secure over TLS).', sessionView);
const bodyErrors = {
  '400': error('Malformed JSON (invalid_json) or an invalid body (invalid_body, with issues naming each path).'),
  '403': error('Posted from another origin (cross_origin_refused), or without the session CSRF token (csrf_failed).'),
  '413': error('The body is over the size limit (body_too_large).'),
  '415': error('Content-Type is not application/json (unsupported_media_type).'),
};
const tooMany = error('Too many sign-in attempts for the account or the address (too_many_attempts); Retry-After says when to try again.');
const notSignedIn = error('No session, or it ended (not_signed_in).');
const token = { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' };

export function peoplePaths(bearer: Json[]): Json {
  const session = [{ session: [] }];
  const either = [...bearer, ...session];
  const member = object({ id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, role, joined_at: { type: 'string' }, has_password: { type: 'boolean' } });
  const invitation = object({ id: { type: 'string' }, org_id: { type: 'string' }, email: { type: 'string' }, role, created_by: { type: 'string' }, created_at: { type: 'string' }, expires_at: { type: 'string' }, accepted_at: { type: ['string', 'null'] }, revoked_at: { type: ['string', 'null'] } });
  const authErrors = { '401': error('Not signed in and no valid API key.'), '403': error('The role or key lacks the scope (insufficient_scope), or a session change without its CSRF token (csrf_failed).'), '429': error('Over the organization rate limit (rate_limited).') };
  return {
    '/auth/session': { get: { operationId: 'getSession', summary: 'Who is signed in', security: session, responses: { '200': answer('The session.', sessionView), '401': notSignedIn } } },
    '/auth/sign-in': {
      post: {
        operationId: 'signIn',
        summary: 'Sign in with email and password',
        security: [],
        requestBody: jsonBody(object({ email: { type: 'string', format: 'email' }, password: { type: 'string', minLength: 1, maxLength: 256 } }, ['email', 'password'])),
        responses: { '200': signedIn, ...bodyErrors, '401': error('Wrong email or password (invalid_credentials): the same answer for both.'), '429': tooMany },
      },
    },
    '/auth/sign-in/link': {
      post: {
        operationId: 'signInWithLink',
        summary: 'Sign in with a one-time link (npm start prints one for the first admin)',
        security: [],
        requestBody: jsonBody(object({ token }, ['token'])),
        responses: { '200': signedIn, ...bodyErrors, '401': error('Unknown, used or expired link (invalid_link).'), '429': tooMany },
      },
    },
    '/auth/sign-out': { post: { operationId: 'signOut', summary: 'End this session', security: session, responses: { '204': { description: 'Signed out; the cookie is cleared.' }, '401': notSignedIn, '403': bodyErrors['403'] } } },
    '/auth/sign-out/everywhere': {
      post: { operationId: 'signOutEverywhere', summary: "End every session of the user", security: session, responses: { '200': answer('Signed out everywhere.', object({ sessions_ended: { type: 'integer' } })), '401': notSignedIn, '403': bodyErrors['403'] } },
    },
    '/auth/password': {
      post: {
        operationId: 'setPassword',
        summary: "Set the user's password (the current one is needed once there is one); ends the user's other sessions",
        security: session,
        requestBody: jsonBody(object({ current_password: { type: 'string' }, new_password: { type: 'string', minLength: 10, maxLength: 256 } }, ['new_password'])),
        responses: { '200': signedIn, ...bodyErrors, '401': notSignedIn, '429': tooMany },
      },
    },
    '/auth/organization': {
      post: {
        operationId: 'switchOrganization',
        summary: 'Work in another organization the user belongs to (a new session)',
        security: session,
        requestBody: jsonBody(object({ org_id: { type: 'string', minLength: 1, maxLength: 200 } }, ['org_id'])),
        responses: { '200': signedIn, ...bodyErrors, '401': notSignedIn, '404': error('Not a member of that organization (not_found).') },
      },
    },
    '/auth/invitations/{token}': {
      get: {
        operationId: 'getInvitation',
        summary: 'What an invitation is for',
        security: [],
        parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': answer('The invitation.', object({ email: { type: 'string' }, organization: object({ id: { type: 'string' }, name: { type: 'string' } }), role, expires_at: { type: 'string' }, existing_user: { type: 'boolean' } })),
          '404': error('Unknown, used, revoked or expired (not_found).'),
        },
      },
    },
    '/auth/invitations/accept': {
      post: {
        operationId: 'acceptInvitation',
        summary: 'Join by invitation: a new account chooses its password, an existing one enters it',
        security: [],
        requestBody: jsonBody(object({ token, name: { type: 'string', maxLength: 100 }, password: { type: 'string', minLength: 10, maxLength: 256 } }, ['token', 'password'])),
        responses: { '200': signedIn, ...bodyErrors, '401': error('The account exists and the password is wrong (invalid_credentials).'), '404': error('Unknown, used, revoked or expired (not_found).'), '409': error('The account was created meanwhile (conflict).'), '429': tooMany },
      },
    },
    '/v1/members': {
      get: { operationId: 'listMembers', summary: 'The people of the organization (scope read or admin)', security: either, responses: { '200': answer('Members.', object({ members: { type: 'array', items: member } })), ...authErrors } },
    },
    '/v1/members/{user_id}': {
      put: {
        operationId: 'setMemberRole',
        summary: "Change a member's role (scope admin)",
        security: either,
        parameters: [{ name: 'user_id', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: jsonBody(object({ role }, ['role'])),
        responses: { '200': answer('The member.', member), ...bodyErrors, ...authErrors, '404': error('No such member (not_found).'), '409': error('The last admin cannot be demoted (conflict).') },
      },
      delete: {
        operationId: 'removeMember',
        summary: 'Remove a member and end their sessions in the organization (scope admin)',
        security: either,
        parameters: [{ name: 'user_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '204': { description: 'Removed.' }, ...authErrors, '404': error('No such member (not_found).'), '409': error('The last admin cannot be removed (conflict).') },
      },
    },
    '/v1/invitations': {
      get: { operationId: 'listInvitations', summary: 'Invitations of the organization (scope admin)', security: either, responses: { '200': answer('Invitations (never their links).', object({ invitations: { type: 'array', items: invitation } })), ...authErrors } },
      post: {
        operationId: 'createInvitation',
        summary: 'Invite someone by email with a role (scope admin); the link is in this answer only',
        security: either,
        requestBody: jsonBody(object({ email: { type: 'string', format: 'email' }, role }, ['email', 'role'])),
        responses: {
          '201': answer('Created.', object({ invitation, link: { type: 'string' }, delivery: object({ status: { type: 'string', enum: ['sent', 'not_sent', 'failed'] }, reason: { type: 'string' } }) })),
          ...bodyErrors,
          ...authErrors,
        },
      },
    },
    '/v1/invitations/{id}': {
      delete: {
        operationId: 'revokeInvitation',
        summary: 'Revoke a pending invitation (scope admin)',
        security: either,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': answer('Revoked.', invitation), ...authErrors, '404': error('No pending invitation with this id (not_found).') },
      },
    },
  };
}
