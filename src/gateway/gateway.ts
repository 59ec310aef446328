// The gateway, wired from the dependency container: one Authorizer per Deps, shared by the HTTP
// hook (forward-auth, built-in gateway) and Envoy's Check.
import type { Deps } from '../deps.js';
import { Assertions } from '../modules/token/index.js';
import { Authorizer } from './authorizer.js';
import { UpstreamProxy } from './proxy.js';

export interface Gateway {
  authorizer: Authorizer;
  proxy?: UpstreamProxy;
}

const gateways = new WeakMap<Deps, Gateway | null>();

/** The gateway of these deps; undefined without GATEWAY_POLICY. */
export function gatewayOf(deps: Deps): Gateway | undefined {
  let g = gateways.get(deps);
  if (g === undefined) {
    const { policy, upstream, upstreamTimeoutMs, assertionAudience } = deps.config.gateway;
    g = policy
      ? {
          authorizer: new Authorizer({
            policy,
            authenticator: deps.authenticator,
            reach: deps.apiKeys.reach,
            orgs: deps.orgs,
            tenantPolicy: deps.policyGate,
            assertions: new Assertions(deps.signingKeys, deps.clock, () => deps.config.publicUrl, assertionAudience),
            config: deps.config,
          }),
          proxy: upstream ? new UpstreamProxy(upstream, upstreamTimeoutMs) : undefined,
        }
      : null;
    gateways.set(deps, g);
  }
  return g ?? undefined;
}
