// TokenService handlers.
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { JwkSchema, type TokenService } from '../../../gen/latchkey/v1/token_pb.js';
import type { Deps } from '../../deps.js';

export function tokenHandlers(deps: Deps): Partial<ServiceImpl<typeof TokenService>> {
  return {
    getJwks(_req, ctx) {
      // Keys change only on rotation; let JWT libraries cache the set briefly.
      ctx.responseHeader.set('cache-control', 'public, max-age=300');
      return { keys: deps.signingKeys.jwks().map((k) => create(JwkSchema, k)) };
    },
  };
}
