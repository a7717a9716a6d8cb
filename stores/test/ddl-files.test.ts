import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readDdlFiles, splitStatements } from '../src/clickhouse/migrations.js';
import { CLICKHOUSE_DDL_DIR } from '../src/paths.js';

describe('ClickHouse DDL files', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const folder = async (files: Record<string, string>) => {
    dir = await mkdtemp(join(tmpdir(), 'metronis-ddl-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  };

  it('splits statements at a semicolon ending a line and drops comment-only pieces', () => {
    expect(splitStatements("-- header\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Log;\n\n-- note\nCREATE TABLE b (y UInt8) ENGINE = Log ;  \n-- trailing\n")).toEqual([
      "-- header\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Log",
      '-- note\nCREATE TABLE b (y UInt8) ENGINE = Log',
    ]);
  });

  it('reads the repository folder in version order', async () => {
    const files = await readDdlFiles(CLICKHOUSE_DDL_DIR);
    expect(files.map((f) => f.name)[0]).toBe('0001_trace_facts');
    expect(files.map((f) => f.version)).toEqual([...files.map((f) => f.version)].sort((a, b) => a - b));
    expect(files[0]!.statements).toHaveLength(1);
  });

  it('refuses two files with the same number', async () => {
    const d = await folder({ '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 2;' });
    await expect(readDdlFiles(d)).rejects.toThrow(/0001_a\.sql and 0001_b\.sql share version 0001/);
  });

  it('refuses a file without a statement', async () => {
    const d = await folder({ '0001_empty.sql': '-- nothing here\n' });
    await expect(readDdlFiles(d)).rejects.toThrow(/0001_empty\.sql holds no statement/);
  });
});
