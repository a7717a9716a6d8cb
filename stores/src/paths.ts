/** Where the SQL shipped with the repository lives (the same depth from src/ and dist/). */
import { fileURLToPath } from 'node:url';

/** sql/postgres: drizzle-kit migrations and their meta journal. */
export const POSTGRES_MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/postgres', import.meta.url));
/** sql/clickhouse: numbered DDL files for the facts store. */
export const CLICKHOUSE_DDL_DIR = fileURLToPath(new URL('../../sql/clickhouse', import.meta.url));
