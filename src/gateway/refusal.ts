// A refused product request as the client sees it: the HTTP status and REST envelope of Latchkey's
// own routes (one status table, transport/rest/status.ts), RateLimit-* and Retry-After on 429.
import type { Logger } from '../log.js';
import { DomainError, RateLimitedError } from '../modules/common/errors.js';
import { CONNECT_CODE, envelopeError, httpErrorFor } from '../transport/rest/status.js';

export interface Refusal {
  status: number;
  /** Connect/gRPC code (the same numbers). */
  grpcCode: number;
  message: string;
  /** The envelope, serialised. */
  body: string;
  headers: [string, string][];
}

export function refusalOf(e: unknown, log: Logger, requestId: string): Refusal {
  if (!(e instanceof DomainError)) {
    log.error({ err: e }, 'gateway authorisation failed');
    e = new DomainError('INTERNAL', `Internal error (request id ${requestId})`);
  }
  const err = e as DomainError;
  const grpcCode = CONNECT_CODE[err.code];
  const { status, code } = httpErrorFor(grpcCode, err.reason);
  const headers: [string, string][] = [];
  if (err instanceof RateLimitedError) {
    headers.push(['retry-after', String(err.resetSeconds)]);
    if (err.limit > 0) {
      headers.push(['ratelimit-limit', String(err.limit)], ['ratelimit-remaining', String(err.remaining)], ['ratelimit-reset', String(err.resetSeconds)]);
    }
  }
  const body = JSON.stringify(envelopeError(status, code, err.message, { ...(err.meta.field ? { field: err.meta.field } : {}), reason: err.reason }));
  return { status, grpcCode, message: err.message, body, headers };
}

/** The envelope as a header value (ASCII only): nginx's auth_request drops the body, so nginx reads it here. */
export const asHeaderValue = (json: string): string => json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
