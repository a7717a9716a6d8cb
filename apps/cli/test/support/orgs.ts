/**
 * Organizations for tests that share one deployment: each made in the deployment's database with an
 * admin key, by what `metronis org create` and `metronis key create` run (in this process, since a CLI
 * start costs seconds on a loaded machine). Policies, judges and alert rules are per organization, so
 * each concern of a shared deployment keeps its own apart from the others'.
 *
 *   const orgs = testOrgs(['tier2', 'alerts']);
 *   useDeployment({ ..., afterMigrate: orgs.create });
 *   fetch(url, { headers: { authorization: `Bearer ${orgs.key('tier2')}` } });
 */
import { createPostgresStore } from '@metronis/stores';
import { runAdmin } from '../../src/commands/admin.js';

export interface TestOrgs {
  /** Makes the organizations and their keys in the database at `databaseUrl`. */
  create(databaseUrl: string): Promise<void>;
  /** The admin key of one of them (once created). */
  key(org: string): string;
}

export function testOrgs(ids: string[]): TestOrgs {
  const keys = new Map<string, string>();
  return {
    async create(databaseUrl) {
      const store = createPostgresStore({ url: databaseUrl, max: 1 });
      try {
        for (const id of ids) {
          await runAdmin(store, 'org', 'create', { id, name: id });
          const created = (await runAdmin(store, 'key', 'create', { org: id, name: 'test' })) as { key: string };
          keys.set(id, created.key);
        }
      } finally {
        await store.close();
      }
    },
    key(org) {
      const key = keys.get(org);
      if (key === undefined) throw new Error(`no key for the organization '${org}' (not among ${ids.join(', ')}, or not created yet)`);
      return key;
    },
  };
}
