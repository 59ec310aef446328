// Shared steps of the OAuth tests: an admin registers a client over REST; openid-client (panva's
// certified relying party) is the third-party application.
import * as oidc from 'openid-client';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';

export interface CreatedClient {
  clientId: string;
  secret: string;
}

export async function createClient(baseUrl: string, admin: TestUser, body: Record<string, unknown>): Promise<CreatedClient> {
  const r = await rest(baseUrl, 'POST', '/api/oauth/clients', { body, headers: { cookie: admin.cookie, 'x-organization-id': admin.organizationId } });
  if (r.status !== 200) throw new Error(`create client: ${r.status} ${JSON.stringify(r.body)}`);
  return { clientId: r.body.data.client.clientId, secret: r.body.data.clientSecret };
}

/** openid-client's configuration for a client of this server (plain http on loopback allowed). */
export function discover(baseUrl: string, clientId: string, auth: oidc.ClientAuth, metadata: Partial<oidc.ClientMetadata> = {}): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(baseUrl), clientId, metadata, auth, { execute: [oidc.allowInsecureRequests] });
}

/** The OAuth error an openid-client call failed with (`invalid_grant`, …). */
export async function oauthError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { error?: string; cause?: { error?: string } | { parameters?: { error?: string } }[]; code?: string };
    const challenge = Array.isArray(err.cause) ? err.cause[0]?.parameters?.error : undefined;
    return err.error ?? challenge ?? (err.cause as { error?: string } | undefined)?.error ?? err.code ?? String(e);
  }
  throw new Error('expected the call to fail');
}
