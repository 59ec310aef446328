// The key format, `<prefix>_<secret><checksum>` (GitHub's token format): a 43-character base62
// secret (32 random bytes) and a 6-character base62 CRC32 of everything before it. The checksum lets
// a typo or a truncated key be refused without I/O, and lets secret scanners recognise our keys.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { sha256 } from '../common/secrets.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_LEN = 43; // ceil(256 / log2(62))
const CHECK_LEN = 6; // ceil(32 / log2(62))
const PREFIX_RE = /^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/;
const BODY_RE = /^[0-9A-Za-z]+$/;
/** Characters of the secret kept in `start` for display (with the prefix). */
const START_CHARS = 4;

function base62(n: bigint, width: number): string {
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(head: string): string {
  return base62(BigInt(crc32(head)), CHECK_LEN);
}

export interface NewKey {
  /** The plaintext key: returned once, never stored. */
  key: string;
  /** SHA-256 of the whole key: what the database stores. */
  hash: string;
  /** Display prefix, e.g. "lk_AbCd". */
  start: string;
}

export function generateKey(prefix: string): NewKey {
  const secret = base62(BigInt('0x' + randomBytes(32).toString('hex')), SECRET_LEN);
  const head = `${prefix}_${secret}`;
  const key = head + checksum(head);
  return { key, hash: hashKey(key), start: head.slice(0, prefix.length + 1 + START_CHARS) };
}

export const hashKey = (key: string): string => sha256(key);

/**
 * True when `key` has the shape of a Latchkey key with a valid checksum. Pure (no I/O). Any valid
 * prefix is accepted so that keys minted before a change of API_KEY_PREFIX keep working.
 */
export function isWellFormedKey(key: string): boolean {
  const bodyLen = SECRET_LEN + CHECK_LEN;
  if (key.length < bodyLen + 2 || key.length > bodyLen + 35) return false;
  const sep = key.length - bodyLen - 1;
  if (key[sep] !== '_') return false;
  const prefix = key.slice(0, sep);
  const body = key.slice(sep + 1);
  if (!PREFIX_RE.test(prefix) || !BODY_RE.test(body)) return false;
  const head = key.slice(0, key.length - CHECK_LEN);
  return checksum(head) === key.slice(key.length - CHECK_LEN);
}
