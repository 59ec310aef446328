// Domain errors carry a code (the protocol-level class: HTTP status, Connect code, envelope `code`)
// and a reason (the stable, specific cause clients switch on). The catalogue below is the only
// list of reasons; proto/latchkey/v1/common.proto `ErrorReason` mirrors it for client authors.
export type ErrorCode =
  | 'BAD_REQUEST'
  /** The request is well formed but the resource's state forbids it (last root_admin, revoked key). */
  | 'FAILED_PRECONDITION'
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** Every reason and the one code it belongs to. Add a reason here and in common.proto together. */
export const REASONS = {
  BAD_REQUEST: 'BAD_REQUEST',
  MALFORMED_BODY: 'BAD_REQUEST',
  BODY_TOO_LARGE: 'BAD_REQUEST',
  METHOD_NOT_ALLOWED: 'BAD_REQUEST',
  TENANT_REQUIRED: 'BAD_REQUEST',
  TENANT_MISMATCH: 'BAD_REQUEST',
  RESET_TOKEN_INVALID: 'BAD_REQUEST',
  PARTNER_LINK_INVALID: 'BAD_REQUEST',
  VALIDATION_FAILED: 'VALIDATION_ERROR',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  LAST_ROOT_ADMIN: 'FAILED_PRECONDITION',
  API_KEY_ALREADY_REVOKED: 'FAILED_PRECONDITION',
  PARTNER_HAS_CLIENTS: 'FAILED_PRECONDITION',
  CREDENTIAL_MISSING: 'UNAUTHORIZED',
  CREDENTIAL_INVALID: 'UNAUTHORIZED',
  API_KEY_INVALID: 'UNAUTHORIZED',
  API_KEY_EXPIRED: 'UNAUTHORIZED',
  API_KEY_REVOKED: 'UNAUTHORIZED',
  API_KEY_DISABLED: 'UNAUTHORIZED',
  USAGE_EXCEEDED: 'UNAUTHORIZED',
  ACCESS_TOKEN_INVALID: 'UNAUTHORIZED',
  ACCESS_TOKEN_EXPIRED: 'UNAUTHORIZED',
  SESSION_EXPIRED: 'UNAUTHORIZED',
  SESSION_REQUIRED: 'UNAUTHORIZED',
  REFRESH_TOKEN_INVALID: 'UNAUTHORIZED',
  REFRESH_TOKEN_EXPIRED: 'UNAUTHORIZED',
  REFRESH_TOKEN_REVOKED: 'UNAUTHORIZED',
  REFRESH_TOKEN_REUSED: 'UNAUTHORIZED',
  SIGN_IN_FAILED: 'UNAUTHORIZED',
  ONE_TIME_TOKEN_INVALID: 'UNAUTHORIZED',
  SECOND_FACTOR_INVALID: 'UNAUTHORIZED',
  CHALLENGE_INVALID: 'UNAUTHORIZED',
  PERMISSION_DENIED: 'FORBIDDEN',
  SCOPE_MISSING: 'FORBIDDEN',
  SCOPE_BEYOND_ROLE: 'FORBIDDEN',
  ROLE_REQUIRED: 'FORBIDDEN',
  ROLE_ABOVE_CALLER: 'FORBIDDEN',
  TENANT_FORBIDDEN: 'FORBIDDEN',
  PARTNER_REQUIRED: 'FORBIDDEN',
  PARTNER_API_FORBIDDEN: 'FORBIDDEN',
  CSRF_REJECTED: 'FORBIDDEN',
  EMAIL_NOT_VERIFIED: 'FORBIDDEN',
  IP_NOT_ALLOWED: 'FORBIDDEN',
  SECOND_FACTOR_REQUIRED: 'FORBIDDEN',
  SECOND_FACTOR_ENROLMENT_REQUIRED: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'CONFLICT',
  ALREADY_MEMBER: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVER_BUSY: 'RATE_LIMITED',
  UNAVAILABLE: 'UNAVAILABLE',
  DATABASE_UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
  SSO_REQUIRED: 'FORBIDDEN',
  SSO_SIGN_IN_FAILED: 'UNAUTHORIZED',
  SSO_DOMAIN_UNVERIFIED: 'FAILED_PRECONDITION',
} as const satisfies Record<string, ErrorCode>;

export type Reason = keyof typeof REASONS;
/** The reasons that belong to one code, so a helper cannot pair a code with another code's reason. */
export type ReasonOf<C extends ErrorCode> = { [R in Reason]: (typeof REASONS)[R] extends C ? R : never }[Reason];

/** The reason an error gets when its thrower names only the code. */
export const DEFAULT_REASON: { [C in ErrorCode]: ReasonOf<C> } = {
  BAD_REQUEST: 'BAD_REQUEST',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  VALIDATION_ERROR: 'VALIDATION_FAILED',
  UNAUTHORIZED: 'CREDENTIAL_INVALID',
  FORBIDDEN: 'PERMISSION_DENIED',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'ALREADY_EXISTS',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
};

export const isReason = (s: string): s is Reason => Object.hasOwn(REASONS, s);

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly reason: Reason;

  /** Name a specific reason (its code follows from the catalogue), or only a code (default reason). */
  constructor(
    codeOrReason: Reason | ErrorCode,
    message: string,
    /** Extra facts for the client (e.g. the offending field, retry delay). Never secrets. */
    readonly meta: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.reason = isReason(codeOrReason) ? codeOrReason : DEFAULT_REASON[codeOrReason];
    this.code = REASONS[this.reason];
  }
}

export const invalid = (field: string, message: string) => new DomainError('VALIDATION_FAILED', `${field}: ${message}`, { field });

export const unauthorized = (message: string, reason: ReasonOf<'UNAUTHORIZED'> = 'CREDENTIAL_INVALID') => new DomainError(reason, message);
export const forbidden = (message = 'Not allowed', reason: ReasonOf<'FORBIDDEN'> = 'PERMISSION_DENIED') => new DomainError(reason, message);
export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string, reason: ReasonOf<'CONFLICT'> = 'ALREADY_EXISTS') => new DomainError(reason, message);

export class RateLimitedError extends DomainError {
  constructor(
    readonly limit: number,
    readonly remaining: number,
    /** Seconds until the window resets. */
    readonly resetSeconds: number,
    message = 'Too many requests',
    reason: ReasonOf<'RATE_LIMITED'> = 'RATE_LIMITED',
  ) {
    super(reason, message, { retryAfter: String(resetSeconds) });
  }
}
