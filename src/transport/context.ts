// Values every handler and interceptor can read from the Connect context.
import { createContextKey } from '@connectrpc/connect';
import type { Logger } from '../log.js';
import type { Principal } from '../modules/common/principal.js';

export interface RequestInfo {
  id: string;
  /** Client address (X-Forwarded-For only from TRUSTED_PROXIES). */
  ip: string;
  userAgent: string;
  log: Logger;
}

export const requestInfoKey = createContextKey<RequestInfo | undefined>(undefined, { description: 'request info' });
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'principal' });
/** The REST path template a call came through (e.g. "/v2/partner/api_keys"); unset on gRPC and Connect. */
export const restPathKey = createContextKey<string | undefined>(undefined, { description: 'REST path template' });
