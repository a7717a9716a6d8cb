/**
 * Applies the numbered DDL files of sql/clickhouse (`NNNN_name.sql`, in order) that the
 * `schema_migrations` table does not list yet, on any ClickHouse engine given as an executor (chDB or
 * a server). Each file may hold several statements ending in `;` at the end of a line. The DDL is
 * idempotent (IF NOT EXISTS), so a file interrupted half-way is simply applied again.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DdlExecutor {
  /** runs a statement that returns nothing */
  command(sql: string): Promise<void>;
  /** runs a query and returns its JSONEachRow rows */
  rows<T>(sql: string): Promise<T[]>;
}

export interface DdlFile {
  version: number;
  name: string;
  statements: string[];
}

// Works on ClickHouse 18.16 too (no DateTime64), so the transport test can run migrate() there.
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
ORDER BY version`;

const FILE_NAME = /^(\d{4})_([A-Za-z0-9_-]+)\.sql$/;

/** The DDL files of `dir` in version order; refuses stray or duplicate-numbered .sql files. */
export async function readDdlFiles(dir: string): Promise<DdlFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  const files: DdlFile[] = [];
  for (const file of names) {
    const match = FILE_NAME.exec(file);
    if (!match) throw new Error(`ClickHouse DDL file ${file} in ${dir} is not named NNNN_name.sql`);
    const version = Number(match[1]);
    const previous = files.at(-1);
    if (previous?.version === version) throw new Error(`ClickHouse DDL files ${previous.name}.sql and ${file} share version ${match[1]}`);
    const statements = splitStatements(await readFile(join(dir, file), 'utf8'));
    if (statements.length === 0) throw new Error(`ClickHouse DDL file ${file} holds no statement`);
    files.push({ version, name: file.slice(0, -'.sql'.length), statements });
  }
  return files;
}

/** Statements separated by `;` at the end of a line; comment-only pieces are dropped. */
export function splitStatements(text: string): string[] {
  return text
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

/** Applies the files not yet recorded; returns the names it applied. */
export async function applyDdl(exec: DdlExecutor, files: DdlFile[]): Promise<string[]> {
  await exec.command(MIGRATIONS_TABLE);
  const applied = new Set((await exec.rows<{ version: number }>('SELECT DISTINCT version FROM schema_migrations')).map((r) => Number(r.version)));
  const done: string[] = [];
  for (const file of files) {
    if (applied.has(file.version)) continue;
    for (const statement of file.statements) await exec.command(statement);
    // The name is ours (matched FILE_NAME: letters, digits, _ and -), so it can be inlined.
    await exec.command(`INSERT INTO schema_migrations (version, name) VALUES (${file.version}, '${file.name}')`);
    done.push(file.name);
  }
  return done;
}
