/**
 * drizzle-kit configuration: `npx drizzle-kit generate --config stores/drizzle.config.ts --name <what>`
 * (run from the repository root) writes the next numbered migration into sql/postgres from the
 * schema in stores/src/postgres/schema.ts. The stores apply them with drizzle's migrator.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './stores/src/postgres/schema.ts',
  out: './sql/postgres',
  strict: true,
  verbose: true,
});
