/**
 * Secrets at rest: AES-256-GCM with one key from the environment (`METRONIS_SECRETS_KEY`, 32 bytes as
 * base64 or hex; embedded mode keeps a generated one in its data folder, `loadOrCreateSecretsKey`).
 * Alert channels keep their routing keys, webhook URLs, SMTP passwords and signing secrets sealed
 * with it; the LLM judge's provider keys can use the same box.
 *
 * A sealed value is `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url): the key id (the first bytes of
 * the key's SHA-256) says which key sealed it, so a wrong key fails with a clear `SecretsError`
 * instead of garbage. `context` is authenticated but not stored (for example `alert_channel:<org>:<id>`):
 * a sealed value copied to another row does not open there.
 *
 * The box never exposes its key, and a `SecretsError` never carries plaintext or key material; the
 * callers keep secrets out of logs and API answers (they return only which secret fields are set).
 *
 * @example
 *   const box = createSecretBox(parseSecretsKey(env.METRONIS_SECRETS_KEY));
 *   const sealed = box.seal(JSON.stringify({ routing_key }), `alert_channel:${org}:${id}`);
 *   const { routing_key } = JSON.parse(box.open(sealed, `alert_channel:${org}:${id}`));
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
}

export interface SecretBox {
  /** Short id of the key (hex), safe to log: which key sealed a value. */
  readonly keyId: string;
  seal(plaintext: string, context: string): string;
  /** The plaintext, or a SecretsError when the value is malformed, sealed by another key or for another context. */
  open(sealed: string, context: string): string;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const VERSION = 'v1';

/** A 32-byte key from its text: 64 hex characters or base64 / base64url of 32 bytes. */
export function parseSecretsKey(text: string): Buffer {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key === undefined || key.length !== KEY_BYTES) {
    throw new SecretsError('the secrets key must be 32 bytes, written as 64 hex characters or 44 base64 characters (generate one with: openssl rand -base64 32)');
  }
  return key;
}

/** A new random key as base64 text. */
export function generateSecretsKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * The key kept in `file` (embedded mode's data folder), created with a random key (mode 0600) when
 * the file does not exist.
 */
export async function loadOrCreateSecretsKey(file: string): Promise<Buffer> {
  try {
    return parseSecretsKey(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (error instanceof SecretsError) throw new SecretsError(`${file}: ${error.message}`);
      throw error;
    }
  }
  await mkdir(dirname(file), { recursive: true });
  const text = generateSecretsKey();
  await writeFile(file, `${text}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await chmod(file, 0o600).catch(() => undefined);
  return parseSecretsKey(await readFile(file, 'utf8'));
}

export function createSecretBox(key: Buffer): SecretBox {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new SecretsError(`createSecretBox: the key must be a Buffer of ${KEY_BYTES} bytes`);
  const secret = Buffer.from(key); // a private copy: the caller's buffer may be reused
  const keyId = createHash('sha256').update(secret).digest('hex').slice(0, 12);

  const box: SecretBox = {
    keyId,
    seal(plaintext, context) {
      if (typeof plaintext !== 'string') throw new SecretsError('seal: the plaintext must be a string');
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secret, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    },
    open(sealed, context) {
      const parts = typeof sealed === 'string' ? sealed.split('.') : [];
      if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretsError('open: not a sealed secret of this format');
      if (parts[1] !== keyId) throw new SecretsError(`open: sealed with another key (key id ${parts[1]}, this key is ${keyId}); was METRONIS_SECRETS_KEY changed?`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', secret, Buffer.from(parts[2]!, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(parts[3]!, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(parts[4]!, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretsError('open: the sealed value does not authenticate (tampered, or sealed for another record)');
      }
    },
  };
  // Nothing about the key in util.inspect, JSON or string conversion (a logger given the box logs only its id).
  Object.defineProperty(box, 'toJSON', { value: () => ({ keyId }), enumerable: false });
  Object.defineProperty(box, Symbol.for('nodejs.util.inspect.custom'), { value: () => `SecretBox { keyId: '${keyId}' }`, enumerable: false });
  return box;
}
