// Domain errors → Connect codes with an ErrorInfo reason (and a BadRequest detail naming the
// field of a validation error); anything unexpected → a generic INTERNAL, its cause logged with
// the request id. No stack trace reaches a client.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { BadRequestSchema, ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { isDatabaseUnavailable, isRetryableConflict } from '../../db/unavailable.js';
import { DomainError, RateLimitedError } from '../../modules/common/errors.js';
import { requestInfoKey } from '../context.js';
import { CONNECT_CODE } from '../rest/status.js';
import type { FieldProblem } from './validation.js';

export const ERROR_DOMAIN = 'latchkey.dev';

/** The field violations of an error: every one a validation found, or the single field it names. */
function fieldViolations(e: DomainError): { field: string; description: string; reason: string }[] {
  const problems = (e as { problems?: readonly FieldProblem[] }).problems;
  if (problems) return problems.map((p) => ({ field: p.field, description: p.message, reason: e.reason }));
  return e.meta.field ? [{ field: e.meta.field, description: e.message, reason: e.reason }] : [];
}

/** Seconds a client should wait before retrying after an UNAVAILABLE answer (a database outage). */
const UNAVAILABLE_RETRY_AFTER = '2';

function toConnectError(e: DomainError, cause?: unknown): ConnectError {
  const metadata = new Headers();
  if (e instanceof RateLimitedError) {
    metadata.set('retry-after', String(e.resetSeconds));
    if (e.limit > 0) {
      metadata.set('ratelimit-limit', String(e.limit));
      metadata.set('ratelimit-remaining', String(e.remaining));
      metadata.set('ratelimit-reset', String(e.resetSeconds));
    }
  } else if (e.code === 'UNAVAILABLE') metadata.set('retry-after', UNAVAILABLE_RETRY_AFTER);
  const info = create(ErrorInfoSchema, { reason: e.reason, domain: ERROR_DOMAIN, metadata: e.meta });
  const details: ConstructorParameters<typeof ConnectError>[3] = [{ desc: ErrorInfoSchema, value: info }];
  const violations = fieldViolations(e);
  if (violations.length) details.push({ desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) });
  return new ConnectError(e.message, CONNECT_CODE[e.code], metadata, details, cause);
}

/**
 * Errors of libraries that have a domain meaning: a duplicate key is a conflict; a database outage
 * (refused, dropped, timed out, shutting down, deadlocked past its retries) is UNAVAILABLE.
 */
function domainErrorOf(e: unknown): DomainError | undefined {
  if (e instanceof DomainError) return e;
  if (e instanceof UniqueConstraintViolationException) return new DomainError('ALREADY_EXISTS', 'A resource with the same identifier already exists');
  if (isRetryableConflict(e) || isDatabaseUnavailable(e)) return new DomainError('DATABASE_UNAVAILABLE', 'Service temporarily unavailable, retry shortly');
  return undefined;
}

export const errorsInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (e) {
    if (e instanceof ConnectError) throw e;
    const domain = domainErrorOf(e);
    if (domain) {
      if (domain !== e) req.contextValues.get(requestInfoKey)?.log.warn({ err: (e as Error).message, rpc: req.method.name }, domain.message);
      throw toConnectError(domain, e);
    }
    const info = req.contextValues.get(requestInfoKey);
    info?.log.error({ err: e, rpc: req.method.name }, 'unhandled error');
    throw new ConnectError(`Internal error (request id ${info?.id ?? 'unknown'})`, Code.Internal, undefined, [
      { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: 'INTERNAL', domain: ERROR_DOMAIN }) },
    ]);
  }
};
