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

/** Cookies a client keeps between requests (the provider's interaction cookies). */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }
  header(extra = ''): string {
    return [...[...this.cookies].map(([k, v]) => `${k}=${v}`), extra].filter(Boolean).join('; ');
  }
}

/**
 * The code flow without a browser, for tests about storage rather than pages: the user's consent is
 * given through CompleteOAuthInteraction (what the console page calls) with their session cookie,
 * acting in `organizationId` when given; `beforeConsent` sees the interaction's uid first.
 */
export async function authorizeOverHttp(
  baseUrl: string,
  config: oidc.Configuration,
  user: TestUser,
  redirectUri: string,
  scope: string,
  opts: { resource?: string; organizationId?: string; beforeConsent?: (uid: string) => Promise<void> } = {},
): Promise<{ callback: URL; verifier: string; state: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    resource: opts.resource ?? baseUrl,
  });
  const jar = new Jar();
  const first = await fetch(url, { redirect: 'manual' });
  jar.take(first);
  const consent = new URL(first.headers.get('location')!, baseUrl);
  const uid = consent.pathname.split('/').pop()!;
  await opts.beforeConsent?.(uid);
  const done = await rest(baseUrl, 'POST', `/api/oauth/interactions/${uid}`, { body: { approve: true, organizationId: opts.organizationId }, headers: { cookie: user.cookie } });
  if (done.status !== 200) throw new Error(`consent: ${done.status} ${JSON.stringify(done.body)}`);
  const back = await fetch(done.body.data.redirectTo, { redirect: 'manual', headers: { cookie: jar.header() } });
  if (!back.headers.get('location')) throw new Error(`resume: ${back.status} ${(await back.text()).slice(0, 300)} cookies=${jar.header()}`);
  const to = new URL(back.headers.get('location')!, baseUrl);
  if (!to.href.startsWith(redirectUri)) throw new Error(`expected a redirect to the application, got ${to.href}`);
  return { callback: to, verifier, state };
}
