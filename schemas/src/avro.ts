/**
 * Loads the Avro schemas of `schemas/avro/` as self-contained schema objects: a record that refers to
 * another by name (`io.metronis.v1.Trace`) gets that definition inlined where it first appears, which
 * is what a schema registry needs for one subject. The files stay one record each.
 */
import { readFileSync } from 'node:fs';
import type { SchemaName } from './types.js';

const NAMESPACE = 'io.metronis.v1';
const FILES: Record<SchemaName, string> = {
  Trace: 'Trace.avsc',
  ModuleResult: 'ModuleResult.avsc',
  TierResult: 'TierResult.avsc',
  Escalation: 'Escalation.avsc',
  Verdict: 'Verdict.avsc',
  Alert: 'Alert.avsc',
};

/** The folder holding the .avsc files; the same relative path from src/ and dist/. */
export const AVRO_DIR = new URL('../avro/', import.meta.url);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const raw = new Map<string, Json>();
function rawSchema(name: SchemaName): Json {
  let schema = raw.get(name);
  if (schema === undefined) {
    schema = JSON.parse(readFileSync(new URL(FILES[name], AVRO_DIR), 'utf8')) as Json;
    raw.set(name, schema);
  }
  return schema;
}

/** Names defined inside each file (records and enums nested in it), so references can be resolved. */
function definedNames(node: Json, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const item of node) definedNames(item, into);
  else if (node !== null && typeof node === 'object') {
    if (typeof node.name === 'string' && (node.type === 'record' || node.type === 'enum')) {
      into.add(node.name.includes('.') ? node.name : `${NAMESPACE}.${node.name}`);
    }
    for (const value of Object.values(node)) definedNames(value, into);
  }
  return into;
}

function ownerOf(fullName: string): SchemaName {
  for (const name of Object.keys(FILES) as SchemaName[]) {
    if (definedNames(rawSchema(name), new Set()).has(fullName)) return name;
  }
  throw new Error(`Avro type ${fullName} is not defined in any file of ${AVRO_DIR.pathname}`);
}

function findDefinition(node: Json, fullName: string): Json | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findDefinition(item, fullName);
      if (found !== undefined) return found;
    }
  } else if (node !== null && typeof node === 'object') {
    if (typeof node.name === 'string' && (node.type === 'record' || node.type === 'enum')) {
      const full = node.name.includes('.') ? node.name : `${NAMESPACE}.${node.name}`;
      if (full === fullName) return node;
    }
    for (const value of Object.values(node)) {
      const found = findDefinition(value, fullName);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Replaces the first reference to each externally defined named type by its definition. */
function inline(node: Json, seen: Set<string>): Json {
  if (typeof node === 'string') {
    if (!node.startsWith(`${NAMESPACE}.`) || seen.has(node)) return node;
    const definition = findDefinition(rawSchema(ownerOf(node)), node);
    if (definition === undefined) throw new Error(`Avro type ${node} not found`);
    return inline(structuredClone(definition), seen);
  }
  if (Array.isArray(node)) return node.map((item) => inline(item, seen));
  if (node !== null && typeof node === 'object') {
    if (typeof node.name === 'string' && (node.type === 'record' || node.type === 'enum')) {
      const full = node.name.includes('.') ? node.name : `${NAMESPACE}.${node.name}`;
      // Defined earlier in this schema (an inlined record may carry its own copy): refer by name.
      if (seen.has(full)) return full;
      seen.add(full);
    }
    const out: { [key: string]: Json } = {};
    for (const [key, value] of Object.entries(node)) out[key] = key === 'default' || key === 'doc' || key === 'symbols' ? value : inline(value, seen);
    return out;
  }
  return node;
}

const resolved = new Map<SchemaName, object>();

/** The self-contained Avro schema for a record type. */
export function avroSchema(name: SchemaName): object {
  let schema = resolved.get(name);
  if (schema === undefined) {
    schema = inline(structuredClone(rawSchema(name)), new Set()) as object;
    resolved.set(name, schema);
  }
  return schema;
}

export const SCHEMA_NAMES = Object.keys(FILES) as SchemaName[];
