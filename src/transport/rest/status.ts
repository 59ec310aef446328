// The one table from Connect codes to HTTP statuses and envelope codes.
import { Code } from '@connectrpc/connect';
import type { Reason } from '../../modules/common/errors.js';

export const REASON_TO_CODE: Record<Reason, Code> = {
  BAD_REQUEST: Code.InvalidArgument,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  VALIDATION_ERROR: Code.InvalidArgument,
  UNAUTHORIZED: Code.Unauthenticated,
  FORBIDDEN: Code.PermissionDenied,
  NOT_FOUND: Code.NotFound,
  CONFLICT: Code.AlreadyExists,
  RATE_LIMITED: Code.ResourceExhausted,
  PAYLOAD_TOO_LARGE: Code.ResourceExhausted,
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

/** HTTP status and envelope code for a Connect code; a domain reason refines the envelope code. */
export function httpErrorFor(code: Code, reason?: string): HttpError {
  const base = CODE_TO_HTTP[code] ?? CODE_TO_HTTP[Code.Unknown];
  if (reason === 'VALIDATION_ERROR') return { ...base, code: reason };
  if (reason === 'PAYLOAD_TOO_LARGE') return { status: 413, code: 'BAD_REQUEST' };
  return base;
}

export function envelopeError(status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  return { success: false, status, code, message, ...extra };
}

export function envelopeOk(data: unknown, message: string) {
  return { success: true, status: 200, code: 'OK', message, data };
}
