// Values every handler and interceptor can read from the Connect context.
import { createContextKey } from '@connectrpc/connect';
import type { Logger } from '../log.js';
import type { Principal } from '../modules/common/principal.js';

/** Who sent the request; the request's logger (carrying its id) is made when first used. */
export class RequestInfo {
  private child?: Logger;

  constructor(
    readonly id: string,
    /** Client address (X-Forwarded-For only from TRUSTED_PROXIES). */
    readonly ip: string,
    readonly userAgent: string,
    private readonly root: Logger,
  ) {}

  get log(): Logger {
    this.child ??= this.root.child({ reqId: this.id });
    return this.child;
  }
}

export const requestInfoKey = createContextKey<RequestInfo | undefined>(undefined, { description: 'request info' });
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'principal' });
/** The REST path template a call came through (e.g. "/v2/partner/api_keys"); unset on gRPC and Connect. */
export const restPathKey = createContextKey<string | undefined>(undefined, { description: 'REST path template' });
