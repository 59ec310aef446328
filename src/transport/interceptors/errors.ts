// Domain errors → Connect codes with an ErrorInfo reason; anything unexpected → a generic
// INTERNAL, its cause logged with the request id. No stack trace reaches a client.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { isDatabaseUnavailable, isRetryableConflict } from '../../db/unavailable.js';
import { DomainError, RateLimitedError } from '../../modules/common/errors.js';
import { requestInfoKey } from '../context.js';
import { REASON_TO_CODE } from '../rest/status.js';

const DOMAIN = 'latchkey.dev';

export function toConnectError(e: DomainError): ConnectError {
  const metadata = new Headers();
  if (e instanceof RateLimitedError) {
    metadata.set('retry-after', String(e.resetSeconds));
    if (e.limit > 0) {
      metadata.set('ratelimit-limit', String(e.limit));
      metadata.set('ratelimit-remaining', String(e.remaining));
      metadata.set('ratelimit-reset', String(e.resetSeconds));
    }
  }
  const info = create(ErrorInfoSchema, { reason: e.reason, domain: DOMAIN, metadata: e.meta });
  return new ConnectError(e.message, REASON_TO_CODE[e.reason], metadata, [{ desc: ErrorInfoSchema, value: info }]);
}

/** Seconds a client should wait before retrying after a database outage answer. */
const UNAVAILABLE_RETRY_AFTER = '2';

/** A database outage (refused, dropped, timed out, shutting down, deadlocked past its retries) or an UNAVAILABLE reason → UNAVAILABLE with Retry-After; else undefined. */
export function unavailableError(e: unknown): ConnectError | undefined {
  const down = (e instanceof DomainError && e.reason === 'UNAVAILABLE') || isRetryableConflict(e) || isDatabaseUnavailable(e);
  if (!down) return undefined;
  const metadata = new Headers({ 'retry-after': UNAVAILABLE_RETRY_AFTER });
  const message = e instanceof DomainError ? e.message : 'Service temporarily unavailable, retry shortly';
  const info = create(ErrorInfoSchema, { reason: 'UNAVAILABLE', domain: DOMAIN, metadata: e instanceof DomainError ? e.meta : {} });
  return new ConnectError(message, Code.Unavailable, metadata, [{ desc: ErrorInfoSchema, value: info }], e);
}

export const errorsInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    const down = unavailableError(e);
    if (down) {
      if (!(e instanceof DomainError)) req.contextValues.get(requestInfoKey)?.log.warn({ err: (e as Error).message, rpc: req.method.name }, 'database unavailable');
      throw down;
    }
    if (e instanceof DomainError) throw toConnectError(e);
    if (e instanceof ConnectError) throw e;
    if (e instanceof UniqueConstraintViolationException) {
      throw toConnectError(new DomainError('CONFLICT', 'A resource with the same identifier already exists'));
    }
    const info = req.contextValues.get(requestInfoKey);
    info?.log.error({ err: e, rpc: req.method.name }, 'unhandled error');
    throw new ConnectError(`Internal error (request id ${info?.id ?? 'unknown'})`, Code.Internal);
  }
};
