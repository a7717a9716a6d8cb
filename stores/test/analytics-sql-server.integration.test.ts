/**
 * Analytics SQL on a ClickHouse server, as far as the stack's server can show it: Debian's 18.16 has
 * no SQL-driven access control (no CREATE USER / ROW POLICY / SETTINGS PROFILE), so provisioning an
 * organization's user is refused, and the store answers that analytics SQL is unavailable there
 * (a 501 for the console) instead of running the user's SQL as its own, unconfined user. Without
 * per-org passwords configured it says so without a round trip. What a current server would run is
 * checked to parse in chdb-analytics-sql.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AnalyticsSqlError } from '../src/clickhouse/analytics-sql.js';
import { createClickHouseFactsStore } from '../src/clickhouse/server.js';

const CLICKHOUSE_URL = process.env.CLICKHOUSE_URL ?? 'http://127.0.0.1:18123';

describe('analytics SQL on the ClickHouse server of the stack (18.16)', () => {
  it('is unavailable without per-org passwords, before any request', async () => {
    const facts = createClickHouseFactsStore({ url: 'http://127.0.0.1:9' });
    try {
      const error = await facts.analyticsSql('org_a', 'SELECT 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AnalyticsSqlError);
      expect((error as AnalyticsSqlError).problem).toBe('unavailable');
    } finally {
      await facts.close();
    }
  });

  it("refuses to run a user's SQL when the server cannot confine it, and says why", async () => {
    const facts = createClickHouseFactsStore({ url: CLICKHOUSE_URL, analytics: { password: () => 'a-password-for-the-test-0123456789' } });
    try {
      await facts.ping();
      const error = await facts.analyticsSql('org_a', "SELECT 'not run' AS x").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AnalyticsSqlError);
      expect((error as AnalyticsSqlError).problem).toBe('unavailable');
      expect((error as Error).message).toMatch(/refused to set up the organization's analytics user/);
      expect((error as Error).message).not.toMatch(/a-password-for-the-test/);
    } finally {
      await facts.close();
    }
  });
});
