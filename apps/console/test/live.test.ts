/**
 * The live channel: the hub's routing, coalescing, bounds, shedding and catch-up (with fake sockets:
 * the hub only needs send/bufferedAmount/shed), and the WebSocket endpoint on a real HTTP server with
 * real sessions on PGlite: authenticated by the session cookie at the upgrade, Origin checked, closed
 * when the session ends.
 */
import { createServer, type Server } from 'node:http';
import { makeTrace, type Severity, type Verdict } from '@metronis/schemas';
import { createPgliteStore, type RelationalStore } from '@metronis/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createSessions, type Sessions } from '../src/auth/session.js';
import { createLiveHub, type LiveHub, type LiveMessage } from '../src/live/hub.js';
import { createLiveSockets, type LiveSockets } from '../src/live/socket.js';

const verdict = (traceId: string, orgId: string, severity: Severity, passed = severity === 'none'): Verdict => ({
  trace_id: traceId,
  org_id: orgId,
  tier: 1,
  decided_at: Date.now(),
  passed,
  severity,
  score: passed ? 1 : 0.4,
  finding_kinds: passed ? [] : ['email'],
  failed_modules: passed ? [] : ['pii'],
  application: 'app',
  environment: 'prod',
});

function fakeSocket(orgId: string, filter = {}) {
  const messages: LiveMessage[] = [];
  const socket = { orgId, filter, buffered: 0, shedReason: null as string | null, send: (t: string) => messages.push(JSON.parse(t) as LiveMessage), bufferedAmount: () => socket.buffered, shed: (r: string) => (socket.shedReason = r) };
  return { socket, messages, rows: () => messages.flatMap((m) => m.rows) };
}

const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));

describe('the live hub', () => {
  let hub: LiveHub;
  beforeAll(() => {
    hub = createLiveHub({ flushEveryMs: 10, maxPending: 3, maxRowsPerMessage: 2 });
  });
  afterAll(() => hub.close());

  it("sends each organization only its own rows, and a trace and its verdict within one interval as one row", async () => {
    const a = fakeSocket('org_a');
    const b = fakeSocket('org_b');
    const subA = hub.subscribe(a.socket);
    const subB = hub.subscribe(b.socket);
    hub.publishTrace(makeTrace({ trace_id: 't1', org_id: 'org_a', application: 'app' }), 1_000);
    hub.publishVerdict(verdict('t1', 'org_a', 'high'), 1_001);
    await tick();
    expect(a.rows()).toHaveLength(1);
    expect(a.rows()[0]).toMatchObject({ trace_id: 't1', severity: 'high', passed: false, decided_by_tier: 1, application: 'app' });
    expect(a.rows()[0]!.preview).not.toBeNull();
    expect(a.messages.at(-1)!.at).toBe(1_001);
    expect(b.messages).toEqual([]);
    subA.close();
    subB.close();
  });

  it('applies the filter, verdict fields only once the verdict is known', async () => {
    const s = fakeSocket('org_f', { severity_at_least: 'high' });
    const sub = hub.subscribe(s.socket);
    hub.publishTrace(makeTrace({ trace_id: 'f1', org_id: 'org_f' }), 1);
    await tick();
    expect(s.rows()).toEqual([]);
    hub.publishVerdict(verdict('f1', 'org_f', 'medium'), 2);
    hub.publishTrace(makeTrace({ trace_id: 'f2', org_id: 'org_f' }), 3);
    hub.publishVerdict(verdict('f2', 'org_f', 'critical'), 4);
    await tick();
    expect(s.rows().map((r) => r.trace_id)).toEqual(['f2']);
    sub.close();
  });

  it('keeps at most maxPending rows per subscriber and says how many it dropped', async () => {
    const s = fakeSocket('org_p');
    const sub = hub.subscribe(s.socket);
    // Published synchronously: all five wait for the same flush.
    for (let i = 0; i < 5; i++) hub.publishTrace(makeTrace({ trace_id: `p${i}`, org_id: 'org_p' }), i);
    await tick(80);
    expect(s.rows().map((r) => r.trace_id)).toEqual(['p2', 'p3', 'p4']);
    expect(s.messages[0]!.dropped).toBe(2);
    expect(s.messages.every((m) => m.rows.length <= 2)).toBe(true);
    sub.close();
  });

  it('sheds a subscriber whose socket holds too much unsent', async () => {
    const s = fakeSocket('org_s');
    s.socket.buffered = 2 * 1024 * 1024;
    hub.subscribe(s.socket);
    const before = hub.size();
    hub.publishTrace(makeTrace({ trace_id: 's1', org_id: 'org_s' }), 1);
    await tick();
    expect(s.socket.shedReason).toMatch(/reconnect/);
    expect(hub.size()).toBe(before - 1);
    expect(s.messages).toEqual([]);
  });

  it('catches a reconnecting subscriber up on what came after `since`', async () => {
    hub.publishTrace(makeTrace({ trace_id: 'c1', org_id: 'org_c' }), 10_000);
    hub.publishTrace(makeTrace({ trace_id: 'c2', org_id: 'org_c' }), 20_000);
    hub.publishVerdict(verdict('c2', 'org_c', 'none'), 20_500);
    const s = fakeSocket('org_c');
    const sub = hub.subscribe(s.socket, 15_000);
    expect(s.messages[0]!.replay).toBe(true);
    expect(s.rows()).toHaveLength(1);
    expect(s.rows()[0]).toMatchObject({ trace_id: 'c2', passed: true });
    sub.close();
  });
});

describe('the live WebSocket', () => {
  let store: RelationalStore;
  let sessions: Sessions;
  let hub: LiveHub;
  let sockets: LiveSockets;
  let server: Server;
  let url: string;
  let cookie: string;
  let userId: string;

  beforeAll(async () => {
    store = createPgliteStore();
    await store.migrate();
    await store.ensureOrganization('org_ws', 'WS');
    const user = await store.users.createUser({ email: 'ws@example.com', name: 'W', password_hash: null });
    userId = user.id;
    await store.users.forOrg('org_ws').addMember(user.id, 'viewer', { keyId: 'cli' });
    sessions = createSessions({ users: store.users });
    hub = createLiveHub({ flushEveryMs: 10 });
    sockets = createLiveSockets({ hub, sessions });
    server = createServer((_req, res) => res.end());
    server.on('upgrade', sockets.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const { token } = await sessions.start({ userId: user.id, orgId: 'org_ws' });
    cookie = `metronis_session=${token}`;
  }, 60_000);

  afterAll(async () => {
    await sockets?.close();
    hub?.close();
    await new Promise((r) => server?.close(r));
    await store?.close();
  });

  function connect(headers: Record<string, string>): Promise<{ ws: WebSocket; messages: any[] } | { status: number }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://${url}/live`, { headers });
      const messages: any[] = [];
      ws.on('message', (m) => messages.push(JSON.parse(String(m))));
      ws.on('open', () => resolve({ ws, messages }));
      ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
      ws.on('error', () => undefined);
    });
  }

  it('refuses an upgrade without a session, with an unknown one, or from another origin', async () => {
    expect(await connect({})).toEqual({ status: 401 });
    expect(await connect({ cookie: `metronis_session=${'x'.repeat(43)}` })).toEqual({ status: 401 });
    expect(await connect({ cookie, origin: 'https://evil.example' })).toEqual({ status: 403 });
    const wrongPath = await new Promise<number>((resolve) => new WebSocket(`ws://${url}/elsewhere`, { headers: { cookie } }).on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0)).on('error', () => undefined));
    expect(wrongPath).toBe(404);
  });

  it("pushes the session's organization's rows for the subscribed filter, answers a bad subscription with an error, and closes when the session ends", async () => {
    const open = await connect({ cookie, origin: `http://${url}` });
    if (!('ws' in open)) throw new Error(`refused: ${open.status}`);
    const { ws, messages } = open;
    await tick();
    expect(messages[0]).toEqual({ type: 'ready', organization: 'org_ws' });
    ws.send(JSON.stringify({ type: 'subscribe', filter: { severity_at_least: 'extreme' } }));
    ws.send(JSON.stringify({ type: 'subscribe', filter: { application: 'shop' } }));
    await tick();
    expect(messages[1]).toMatchObject({ type: 'error', issues: [{ path: '$.filter.severity_at_least' }] });
    hub.publishTrace(makeTrace({ trace_id: 'w1', org_id: 'org_ws', application: 'shop' }), 1);
    hub.publishTrace(makeTrace({ trace_id: 'w2', org_id: 'org_ws', application: 'other' }), 2);
    hub.publishTrace(makeTrace({ trace_id: 'w3', org_id: 'org_other', application: 'shop' }), 3);
    await tick(60);
    expect(messages.filter((m) => m.type === 'rows').flatMap((m) => m.rows.map((r: { trace_id: string }) => r.trace_id))).toEqual(['w1']);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await sessions.endAll(userId);
    expect(await closed).toBe(4401);
    expect(await connect({ cookie })).toEqual({ status: 401 });
  });
});
