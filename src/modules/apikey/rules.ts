// Validation of the fields a client sends for a key.
import { invalid } from '../common/errors.js';
import type { RefillInterval } from './api-key.entity.js';
import { REFILL_INTERVALS } from './credits.js';

const SCOPE_RE = /^[a-z0-9][a-z0-9_.:*\-/]{0,63}$/i;
const MAX_SCOPES = 64;
const MAX_METADATA_BYTES = 8 * 1024;
const MAX_LIFETIME_S = 10 * 365 * 86_400;
const MAX_RPM = 1_000_000;
export const MAX_GRACE_S = 86_400;
export const DEFAULT_SCOPES = ['read', 'write'];

export function keyName(raw: string): string {
  const name = raw.trim();
  if (!name) throw invalid('name', 'is required');
  if (name.length > 200) throw invalid('name', 'must be at most 200 characters');
  return name;
}

/** Trimmed, de-duplicated scopes, in the order given. */
export function scopeList(raw: readonly string[]): string[] {
  if (raw.length > MAX_SCOPES) throw invalid('scopes', `at most ${MAX_SCOPES} scopes`);
  const out: string[] = [];
  for (const s of raw.map((x) => x.trim())) {
    if (!SCOPE_RE.test(s)) throw invalid('scopes', `"${s.slice(0, 64)}" is not a valid scope`);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

export const isShorthand = (s: string): boolean => s === 'read' || s === 'write';

export function expiry(now: Date, expiresIn: bigint | number, expiresAt: Date | undefined): Date | null {
  const seconds = Number(expiresIn);
  if (seconds && expiresAt) throw invalid('expiresIn', 'give expiresIn or expiresAt, not both');
  if (seconds) {
    if (seconds < 0) throw invalid('expiresIn', 'must be a positive number of seconds');
    if (seconds > MAX_LIFETIME_S) throw invalid('expiresIn', 'must be at most 10 years');
    return new Date(now.getTime() + seconds * 1000);
  }
  if (expiresAt) return futureExpiry(now, expiresAt);
  return null;
}

export function futureExpiry(now: Date, at: Date): Date {
  if (at.getTime() <= now.getTime()) throw invalid('expiresAt', 'must be in the future');
  if (at.getTime() - now.getTime() > MAX_LIFETIME_S * 1000) throw invalid('expiresAt', 'must be at most 10 years away');
  return at;
}

/** requestsPerMinute: 0 = no limit. */
export function rateLimit(rpm: number): number | null {
  if (!Number.isInteger(rpm) || rpm < 0) throw invalid('rateLimit.requestsPerMinute', 'must not be negative');
  if (rpm > MAX_RPM) throw invalid('rateLimit.requestsPerMinute', `must be at most ${MAX_RPM}`);
  return rpm || null;
}

export function budget(remaining: bigint | number | undefined): number | null {
  if (remaining === undefined) return null;
  const n = Number(remaining);
  if (!Number.isSafeInteger(n) || n < 0) throw invalid('remaining', 'must not be negative');
  return n;
}

/** A refill, or null for "none" (absent, or amount 0). */
export function refill(r: { interval: string; amount: bigint | number } | undefined): { interval: RefillInterval; amount: number } | null {
  if (!r) return null;
  const amount = Number(r.amount);
  if (!Number.isSafeInteger(amount) || amount < 0) throw invalid('refill.amount', 'must not be negative');
  if (amount === 0) return null;
  const interval = r.interval.trim().toLowerCase() as RefillInterval;
  if (!REFILL_INTERVALS.includes(interval)) throw invalid('refill.interval', 'must be "minute", "hour", "day" or "month"');
  return { interval, amount };
}

export function metadataOf(raw: Record<string, unknown> | undefined): Record<string, unknown> {
  const m = raw ?? {};
  if (JSON.stringify(m).length > MAX_METADATA_BYTES) throw invalid('metadata', `must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
  if (m.organizationId !== undefined && (typeof m.organizationId !== 'string' || !m.organizationId)) {
    throw invalid('metadata.organizationId', 'must be an organization id');
  }
  return m;
}

export function gracePeriod(raw: bigint | number): number {
  const s = Number(raw);
  if (!Number.isInteger(s) || s < 0 || s > MAX_GRACE_S) throw invalid('gracePeriodSeconds', `must be between 0 and ${MAX_GRACE_S}`);
  return s;
}

export const KEY_STATUSES = ['active', 'expired', 'revoked', 'disabled'] as const;
