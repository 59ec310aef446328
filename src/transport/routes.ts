// Every service on the router; the REST table is read from the same service descriptors.
import type { ConnectRouter } from '@connectrpc/connect';
import { Authorization } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import type { Deps } from '../deps.js';
import { envoyAuthzHandlers } from '../gateway/envoy.js';
import { apiKeyHandlers } from './handlers/api-key.js';
import { authHandlers } from './handlers/auth.js';
import { healthHandlers } from './handlers/health.js';
import { orgHandlers } from './handlers/org.js';
import { tokenHandlers } from './handlers/token.js';

export const SERVICES = [AuthService, OrgService, ApiKeyService, TokenService, Health];

export const routes = (deps: Deps) => (router: ConnectRouter) =>
  router
    .service(AuthService, authHandlers(deps))
    .service(OrgService, orgHandlers(deps))
    .service(ApiKeyService, apiKeyHandlers(deps))
    .service(TokenService, tokenHandlers(deps))
    .service(Health, healthHandlers)
    .service(Authorization, envoyAuthzHandlers(deps)); // Envoy ext_authz (GATEWAY_POLICY); gRPC only, no REST binding
