/**
 * Password hashing with scrypt (node:crypto; memory-hard, no native add-on to install). A hash is
 * `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url), so the cost can rise later and older hashes still
 * verify. The default cost is N = 2^15, r = 8, p = 1 (32 MiB, OWASP's scrypt recommendation); the hash
 * runs on libuv's thread pool, off the event loop. Verification compares in constant time.
 *
 * @example
 *   const hash = await hashPassword('correct horse battery staple');
 *   await verifyPassword('correct horse battery staple', hash); // true
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface PasswordCost {
  /** log2 of scrypt's N */
  logN: number;
  r: number;
  p: number;
}

export const DEFAULT_PASSWORD_COST: PasswordCost = { logN: 15, r: 8, p: 1 };
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;
const KEY_BYTES = 32;

function scrypt(password: string, salt: Buffer, cost: PasswordCost): Promise<Buffer> {
  const N = 2 ** cost.logN;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCallback(password.normalize('NFKC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))));
}

export async function hashPassword(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, cost);
  return ['scrypt', cost.logN, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** False for a wrong password or a hash this code cannot read (never throws for a bad hash). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const key = await scrypt(password, salt, { logN, r, p });
  return timingSafeEqual(key, expected);
}

/** Spends the time of one verification, so an unknown email answers as slowly as a wrong password. */
export async function burnPasswordTime(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<void> {
  await scrypt(password, randomBytes(16), cost);
}
