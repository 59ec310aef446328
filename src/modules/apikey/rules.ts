// Normalising the fields a client sends for a key. Their shape (lengths, formats, ranges, "one of")
// is checked before any handler by the `buf.validate` rules in proto/latchkey/v1/api_key.proto;
// only rules that need more than the request stay here: the clock (expiry in the future) and the
// JSON size and pin of metadata.
import { invalid } from '../common/errors.js';
import type { RefillInterval } from './api-key.entity.js';

const MAX_METADATA_BYTES = 8 * 1024;
const MAX_LIFETIME_S = 10 * 365 * 86_400;
export const DEFAULT_SCOPES = ['read', 'write'];

export const keyName = (raw: string): string => raw.trim();

/** Trimmed, de-duplicated scopes, in the order given. */
export const scopeList = (raw: readonly string[]): string[] => [...new Set(raw.map((s) => s.trim()))];

export const isShorthand = (s: string): boolean => s === 'read' || s === 'write';

/** The expiry a create asks for: `expiresIn` seconds from now, or `expiresAt` (the proto allows one). */
export function expiry(now: Date, expiresIn: bigint | number, expiresAt: Date | undefined): Date | null {
  const seconds = Number(expiresIn);
  if (seconds) return new Date(now.getTime() + seconds * 1000);
  if (expiresAt) return futureExpiry(now, expiresAt);
  return null;
}

/** Relative to the injected clock, so it cannot be a proto rule. */
export function futureExpiry(now: Date, at: Date): Date {
  if (at.getTime() <= now.getTime()) throw invalid('expiresAt', 'must be in the future');
  if (at.getTime() - now.getTime() > MAX_LIFETIME_S * 1000) throw invalid('expiresAt', 'must be at most 10 years away');
  return at;
}

/** requestsPerMinute: 0 = no limit. */
export const rateLimit = (rpm: number): number | null => rpm || null;

export const budget = (remaining: bigint | number | undefined): number | null => (remaining === undefined ? null : Number(remaining));

/** A refill, or null for "none" (absent, or amount 0). */
export function refill(r: { interval: string; amount: bigint | number } | undefined): { interval: RefillInterval; amount: number } | null {
  const amount = Number(r?.amount ?? 0);
  return r && amount ? { interval: r.interval as RefillInterval, amount } : null;
}

/** Metadata is free-form JSON: its encoded size and the pin's type are checked here. */
export function metadataOf(raw: Record<string, unknown> | undefined): Record<string, unknown> {
  const m = raw ?? {};
  if (JSON.stringify(m).length > MAX_METADATA_BYTES) throw invalid('metadata', `must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
  if (m.organizationId !== undefined && (typeof m.organizationId !== 'string' || !m.organizationId)) {
    throw invalid('metadata.organizationId', 'must be an organization id');
  }
  return m;
}

export const gracePeriod = (raw: bigint | number): number => Number(raw);

export const KEY_STATUSES = ['active', 'expired', 'revoked', 'disabled'] as const;
