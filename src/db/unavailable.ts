// "The database is not there right now" (refused, dropped, timed out, shutting down), as opposed
// to "the query is wrong": the one definition used by the error mapping and the transaction retry.
import { ConnectionException, DeadlockException } from '@mikro-orm/core';

// SQLSTATE codes and socket errors of an outage; class 08 (connection exception) is matched by prefix.
const DOWN_CODES = new Set(['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// node-postgres and pg-pool say so in messages only (no code): a dropped socket, an acquire timeout.
const DOWN_MESSAGE = /connection terminated|timeout exceeded when trying to connect|not queryable|timeout acquiring a connection|connection (?:is )?closed|server closed the connection/i;

/** True when `e` (or an error in its cause chain) is a lost or unobtainable database connection. */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    const code = String((c as { code?: unknown }).code ?? '');
    if (c instanceof ConnectionException || DOWN_CODES.has(code) || code.startsWith('08') || DOWN_MESSAGE.test(c.message)) return true;
    if (c instanceof AggregateError && c.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
}

/** A deadlock or serialization failure (40P01/40001): the same transaction may succeed when run again. */
export function isRetryableConflict(e: unknown): boolean {
  // MikroORM converts these to DeadlockException, but not when they surface at COMMIT (deferred checks).
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    const code = String((c as { code?: unknown }).code ?? '');
    if (c instanceof DeadlockException || code === '40P01' || code === '40001') return true;
  }
  return false;
}
