// Set-up shared by the token tests: the API-key world (users, orgs, invitations, keys over REST) plus
// the seed 004 exchange as curl sends it.
import { type RestResponse, rest } from '../helpers/clients.js';

export * from '../apikey/fixtures.js';

export interface ExchangeHeaders {
  key?: string;
  keyId?: string;
  userId?: string;
}

/** POST /v1/{organization}/user/signin_with_api_key exactly as seed 004's curl: headers, no body. */
export function signInWithApiKey(url: string, organization: string, h: ExchangeHeaders): Promise<RestResponse> {
  const headers: Record<string, string> = { accept: '*/*' };
  if (h.key !== undefined) headers['x-api-key'] = h.key;
  if (h.keyId !== undefined) headers['x-api-key-id'] = h.keyId;
  if (h.userId !== undefined) headers['x-user-id'] = h.userId;
  return rest(url, 'POST', `/v1/${organization}/user/signin_with_api_key`, { headers });
}

/** The JWT's payload (no verification: the tests check what the server put in it). */
export function claimsOf(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

export const bearer = (jwt: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${jwt}`, ...extra });
