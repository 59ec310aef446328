// Every service on the router; the REST table is read from the same service descriptors. Each
// handler factory gets only the services it calls. Once the services are on the router, every
// served method must have an access rule, or the server does not start.
import type { ConnectRouter } from '@connectrpc/connect';
import { Authorization } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { ServerReflection as ReflectionV1 } from '../../gen/grpc/reflection/v1/reflection_pb.js';
import { ServerReflection as ReflectionV1alpha } from '../../gen/grpc/reflection/v1alpha/reflection_pb.js';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { MfaService } from '../../gen/latchkey/v1/mfa_pb.js';
import { OAuthClientService } from '../../gen/latchkey/v1/oauth_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { OrgPolicyService } from '../../gen/latchkey/v1/policy_pb.js';
import { SsoService } from '../../gen/latchkey/v1/sso_pb.js';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { WebhookService } from '../../gen/latchkey/v1/webhook_pb.js';
import type { Deps } from '../deps.js';
import { envoyAuthzHandlers } from '../gateway/envoy.js';
import { assertAccessRules } from './access.js';
import { apiKeyHandlers } from './handlers/api-key.js';
import { authHandlers } from './handlers/auth.js';
import { healthHandlers } from './handlers/health.js';
import { mfaHandlers } from './handlers/mfa.js';
import { orgPolicyHandlers } from './handlers/mfa-policy.js';
import { oauthHandlers } from './handlers/oauth.js';
import { orgHandlers } from './handlers/org.js';
import { Reflection, reflectionHandlers } from './handlers/reflection.js';
import { ssoHandlers } from './handlers/sso.js';
import { tokenHandlers } from './handlers/token.js';
import { webhookHandlers } from './handlers/webhook.js';

export const SERVICES = [
  AuthService,
  OrgService,
  ApiKeyService,
  TokenService,
  MfaService,
  OrgPolicyService,
  OAuthClientService,
  WebhookService,
  SsoService,
  Health,
  Authorization,
  ReflectionV1,
  ReflectionV1alpha,
];
// Reflection lists every served service, itself included.
const reflection = reflectionHandlers(new Reflection(SERVICES));

export const routes = (deps: Deps) => (router: ConnectRouter) => {
  const { accounts, emailVerification, sessions, magicLinks, passwordReset, profiles, ownAccount, orgs, audit } = deps;
  const cookie = { ttlSeconds: deps.config.sessionTtlSeconds, secure: deps.secureCookies };
  router
    .service(
      AuthService,
      authHandlers({
        accounts,
        emailVerification,
        sessions,
        magicLinks,
        passwordReset,
        profiles,
        ownAccount,
        orgs,
        cookie,
        sso: deps.sso,
        enrolmentRequired: async (userId) => !(await deps.mfa.hasSecondFactor(userId)) && (await deps.orgPolicies.anyRequiresSecondFactor(userId)),
      }),
    )
    .service(OrgService, orgHandlers({ orgs, audit }))
    .service(ApiKeyService, apiKeyHandlers({ apiKeys: deps.apiKeys, clock: deps.clock }))
    .service(TokenService, tokenHandlers({ exchange: deps.exchange, introspection: deps.introspection, signingKeys: deps.signingKeys, accessTokens: deps.accessTokens }))
    .service(MfaService, mfaHandlers({ mfa: deps.mfa, orgs, cookie }))
    .service(OrgPolicyService, orgPolicyHandlers({ policies: deps.orgPolicies, hasSecondFactor: (userId) => deps.mfa.hasSecondFactor(userId) }))
    .service(OAuthClientService, oauthHandlers({ oauth: deps.oauth.service }))
    .service(WebhookService, webhookHandlers({ webhooks: deps.webhooks.endpoints }))
    .service(SsoService, ssoHandlers(deps.sso))
    .service(Health, healthHandlers)
    .service(Authorization, envoyAuthzHandlers(deps)) // Envoy ext_authz (GATEWAY_POLICY); gRPC only, no REST binding
    .service(ReflectionV1, reflection.v1)
    .service(ReflectionV1alpha, reflection.v1alpha);
  assertAccessRules(router.handlers.map((h) => h.method));
  return router;
};
