// The one table from error codes to Connect codes, and from Connect codes to HTTP statuses and
// envelope codes. Every envelope error carries a `reason` from the catalogue in common/errors.ts.
import { Code } from '@connectrpc/connect';
import { DEFAULT_REASON, type ErrorCode, isReason, REASONS } from '../../modules/common/errors.js';

export const CONNECT_CODE: Record<ErrorCode, Code> = {
  BAD_REQUEST: Code.InvalidArgument,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  VALIDATION_ERROR: Code.InvalidArgument,
  UNAUTHORIZED: Code.Unauthenticated,
  FORBIDDEN: Code.PermissionDenied,
  NOT_FOUND: Code.NotFound,
  CONFLICT: Code.AlreadyExists,
  RATE_LIMITED: Code.ResourceExhausted,
  UNAVAILABLE: Code.Unavailable,
  INTERNAL: Code.Internal,
};

export interface HttpError {
  status: number;
  code: string;
}

const CODE_TO_HTTP: Record<Code, HttpError> = {
  [Code.Canceled]: { status: 499, code: 'BAD_REQUEST' },
  [Code.Unknown]: { status: 500, code: 'INTERNAL' },
  [Code.InvalidArgument]: { status: 400, code: 'BAD_REQUEST' },
  [Code.DeadlineExceeded]: { status: 504, code: 'UNAVAILABLE' },
  [Code.NotFound]: { status: 404, code: 'NOT_FOUND' },
  [Code.AlreadyExists]: { status: 409, code: 'CONFLICT' },
  [Code.PermissionDenied]: { status: 403, code: 'FORBIDDEN' },
  [Code.ResourceExhausted]: { status: 429, code: 'RATE_LIMITED' },
  [Code.FailedPrecondition]: { status: 400, code: 'BAD_REQUEST' },
  [Code.Aborted]: { status: 409, code: 'CONFLICT' },
  [Code.OutOfRange]: { status: 400, code: 'BAD_REQUEST' },
  [Code.Unimplemented]: { status: 501, code: 'UNAVAILABLE' },
  [Code.Internal]: { status: 500, code: 'INTERNAL' },
  [Code.Unavailable]: { status: 503, code: 'UNAVAILABLE' },
  [Code.DataLoss]: { status: 500, code: 'INTERNAL' },
  [Code.Unauthenticated]: { status: 401, code: 'UNAUTHORIZED' },
};

/** HTTP status and envelope code for a Connect code; a reason (or error code) refines the envelope code. */
export function httpErrorFor(code: Code, reason?: string): HttpError {
  const base = CODE_TO_HTTP[code] ?? CODE_TO_HTTP[Code.Unknown];
  const errorCode = reason && isReason(reason) ? REASONS[reason] : reason;
  if (errorCode === 'VALIDATION_ERROR') return { ...base, code: errorCode };
  if (reason === 'BODY_TOO_LARGE') return { status: 413, code: 'BAD_REQUEST' };
  return base;
}

/** The catalogue reason of an envelope without a more specific one. */
const reasonForEnvelope = (code: string): string => DEFAULT_REASON[code as ErrorCode] ?? 'INTERNAL';

export function envelopeError(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  return { success: false, status, code, message, ...extra, reason: typeof extra.reason === 'string' && extra.reason ? extra.reason : reasonForEnvelope(code) };
}

export function envelopeOk(data: unknown, message: string) {
  return { success: true, status: 200, code: 'OK', message, data };
}
