import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { avroSchema } from '@metronis/schemas';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessRegistry, IncompatibleSchemaError, SchemaRegistryError, SerdeError } from '../src/index.js';

const v1 = { type: 'record', name: 'Thing', namespace: 'test', fields: [{ name: 'a', type: 'string' }] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'b', type: 'int', default: 0 }] };
const v2NoDefault = { ...v1, fields: [...v1.fields, { name: 'b', type: 'int' }] };

describe('in-process schema registry', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'metronis-registry-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives global ids from 1 and the same id for the same schema, whatever its key order', async () => {
    const registry = createInProcessRegistry();
    expect(await registry.register('things-value', v1)).toBe(1);
    expect(await registry.register('traces-value', avroSchema('Trace'))).toBe(2);
    const reordered = { fields: [{ type: 'string', name: 'a' }], namespace: 'test', name: 'Thing', type: 'record' };
    expect(await registry.register('things-value', reordered)).toBe(1);
    // The same schema under another subject keeps its global id.
    expect(await registry.register('other-value', v1)).toBe(1);
    expect(JSON.parse(await registry.getSchema(1))).toEqual(v1);
  });

  it('accepts a backward-compatible new version under a new id', async () => {
    const registry = createInProcessRegistry();
    expect(await registry.register('things-value', v1)).toBe(1);
    expect(await registry.register('things-value', v2)).toBe(2);
    expect(await registry.register('things-value', v1)).toBe(1);
  });

  it('rejects an incompatible change with a clear error', async () => {
    const registry = createInProcessRegistry();
    await registry.register('things-value', v1);
    const attempt = registry.register('things-value', v2NoDefault);
    await expect(attempt).rejects.toBeInstanceOf(IncompatibleSchemaError);
    await expect(attempt).rejects.toThrow(/things-value is not backward compatible with version 1/);
    // A failed registration does not poison the queue.
    expect(await registry.register('things-value', v2)).toBe(2);
  });

  it('rejects an invalid schema, a bad subject and a bad schema argument', async () => {
    const registry = createInProcessRegistry();
    await expect(registry.register('x-value', { type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] })).rejects.toThrow(
      /invalid Avro schema for subject x-value/,
    );
    await expect(registry.register('', v1)).rejects.toBeInstanceOf(SchemaRegistryError);
    await expect(registry.register('x-value', null as unknown as object)).rejects.toThrow(/must be an Avro schema object/);
  });

  it('answers an unknown id with a SerdeError (the record is poison)', async () => {
    const registry = createInProcessRegistry();
    await expect(registry.getSchema(42)).rejects.toBeInstanceOf(SerdeError);
  });

  it('keeps ids stable across reopen, and checks compatibility against what was persisted', async () => {
    const file = join(dir, 'nested', 'schemas.json');
    const first = createInProcessRegistry({ file });
    expect(await first.register('things-value', v1)).toBe(1);
    expect(await first.register('traces-value', avroSchema('Trace'))).toBe(2);

    const second = createInProcessRegistry({ file });
    expect(JSON.parse(await second.getSchema(1))).toEqual(v1);
    expect(await second.register('traces-value', avroSchema('Trace'))).toBe(2);
    await expect(second.register('things-value', v2NoDefault)).rejects.toBeInstanceOf(IncompatibleSchemaError);
    expect(await second.register('verdicts-value', avroSchema('Verdict'))).toBe(3);

    const third = createInProcessRegistry({ file });
    expect(await third.register('verdicts-value', avroSchema('Verdict'))).toBe(3);
    expect(readdirSync(join(dir, 'nested')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('assigns distinct ids to concurrent registrations', async () => {
    const file = join(dir, 'schemas.json');
    const registry = createInProcessRegistry({ file });
    const ids = await Promise.all((['Trace', 'TierResult', 'Escalation', 'Verdict'] as const).map((name) => registry.register(`${name}-value`, avroSchema(name))));
    expect([...ids].sort()).toEqual([1, 2, 3, 4]);
    const reopened = createInProcessRegistry({ file });
    expect(await reopened.register('Verdict-value', avroSchema('Verdict'))).toBe(ids[3]);
  });

  it('refuses to open a corrupt or foreign file, saying which', () => {
    const file = join(dir, 'schemas.json');
    writeFileSync(file, '{ not json');
    expect(() => createInProcessRegistry({ file })).toThrow(/schemas.json is not valid JSON/);
    writeFileSync(file, JSON.stringify({ hello: 'world' }));
    expect(() => createInProcessRegistry({ file })).toThrow(/is not a metronis-schema-registry\/1 file/);
  });

  it('writes a readable JSON file', async () => {
    const file = join(dir, 'schemas.json');
    await createInProcessRegistry({ file }).register('things-value', v1);
    const persisted = JSON.parse(readFileSync(file, 'utf8')) as { subjects: Record<string, number[]> };
    expect(persisted.subjects).toEqual({ 'things-value': [1] });
  });
});

