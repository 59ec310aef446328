// Domain errors carry a stable reason; transport maps reasons to protocol codes in one table.
export type Reason =
  | 'BAD_REQUEST'
  /** The request is well formed but the resource's state forbids it (last root_admin, revoked key). */
  | 'FAILED_PRECONDITION'
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class DomainError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    /** Extra facts for the client (e.g. the offending field, retry delay). Never secrets. */
    readonly meta: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (field: string, message: string) =>
  new DomainError('VALIDATION_ERROR', `${field}: ${message}`, { field });

export const unauthorized = (message: string) => new DomainError('UNAUTHORIZED', message);
export const forbidden = (message = 'Not allowed') => new DomainError('FORBIDDEN', message);
export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new DomainError('CONFLICT', message);

export class RateLimitedError extends DomainError {
  constructor(
    readonly limit: number,
    readonly remaining: number,
    /** Seconds until the window resets. */
    readonly resetSeconds: number,
    message = 'Too many requests',
  ) {
    super('RATE_LIMITED', message, { retryAfter: String(resetSeconds) });
  }
}
