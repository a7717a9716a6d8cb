import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createSecretBox, generateSecretsKey, loadOrCreateSecretsKey, parseSecretsKey, SecretsError } from '../src/secrets.js';

const key = parseSecretsKey(generateSecretsKey());
const box = createSecretBox(key);
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('secrets at rest', () => {
  it('seals and opens, and the sealed text holds neither the plaintext nor the key', () => {
    const sealed = box.seal('R0UTING-KEY-1234567890', 'alert_channel:o:c1');
    expect(sealed).not.toContain('R0UTING');
    expect(sealed).not.toContain(key.toString('base64'));
    expect(sealed.startsWith(`v1.${box.keyId}.`)).toBe(true);
    expect(box.open(sealed, 'alert_channel:o:c1')).toBe('R0UTING-KEY-1234567890');
    expect(box.seal('same', 'c')).not.toBe(box.seal('same', 'c'));
  });

  it('refuses another context, another key, a tampered or malformed value, with a SecretsError that carries no secret', () => {
    const sealed = box.seal('hunter2-password', 'alert_channel:o:c1');
    expect(() => box.open(sealed, 'alert_channel:o:c2')).toThrow(SecretsError);
    const other = createSecretBox(parseSecretsKey(generateSecretsKey()));
    expect(() => other.open(sealed, 'alert_channel:o:c1')).toThrow(/another key/);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('x'.repeat(16)).toString('base64url');
    expect(() => box.open(parts.join('.'), 'alert_channel:o:c1')).toThrow(/does not authenticate/);
    expect(() => box.open('plain text', 'x')).toThrow(/not a sealed secret/);
    try {
      box.open(sealed, 'wrong');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
  });

  it('never shows its key when inspected, stringified or serialized', () => {
    const shown = [inspect(box, { showHidden: true, depth: 5 }), JSON.stringify(box), String(Object.keys(box))].join(' ');
    expect(shown).not.toContain(key.toString('base64'));
    expect(shown).not.toContain(key.toString('hex'));
    expect(shown).toContain(box.keyId);
  });

  it('parses hex and base64 keys and refuses anything else with a message naming the format', () => {
    expect(parseSecretsKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseSecretsKey(key.toString('base64url')).equals(key)).toBe(true);
    expect(() => parseSecretsKey('short')).toThrow(/32 bytes/);
    expect(() => parseSecretsKey(Buffer.alloc(16).toString('base64'))).toThrow(SecretsError);
  });

  it('embedded mode: generates a key once (mode 0600) and reads the same key afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metronis-secrets-'));
    dirs.push(dir);
    const file = join(dir, 'nested', 'secrets-key');
    const first = await loadOrCreateSecretsKey(file);
    const second = await loadOrCreateSecretsKey(file);
    expect(first.equals(second)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(parseSecretsKey(await readFile(file, 'utf8')).equals(first)).toBe(true);
  });
});
