// What a handler needs to know about the caller, read from the Connect context.
import type { HandlerContext } from '@connectrpc/connect';
import { unauthorized } from '../../modules/common/errors.js';
import type { Principal } from '../../modules/common/principal.js';
import type { ClientInfo } from '../../modules/session/session.service.js';
import { principalKey, requestInfoKey } from '../context.js';

export function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  if (!p) throw unauthorized('Missing Authorization header', 'CREDENTIAL_MISSING');
  return p;
}

export function clientOf(ctx: HandlerContext): ClientInfo {
  const info = ctx.values.get(requestInfoKey);
  return { ip: info?.ip ?? '', userAgent: info?.userAgent ?? '' };
}
