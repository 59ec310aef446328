// Sign up and sign in a fresh user over REST, as the seed's curl examples do.
import { rest, sessionCookieOf } from './clients.js';

let n = 0;
export const uniqueEmail = (tag = 'user') => `${tag}-${Date.now().toString(36)}-${++n}@example.com`;
export const PASSWORD = 'a-long-secure-passphrase';

export interface TestUser {
  email: string;
  userId: string;
  organizationId: string;
  cookie: string;
}

export async function signUpAndIn(baseUrl: string, name = 'Test User', email = uniqueEmail()): Promise<TestUser> {
  const up = await rest(baseUrl, 'POST', '/api/auth/sign-up/email', { body: { email, password: PASSWORD, name } });
  if (up.status !== 200) throw new Error(`sign-up failed: ${JSON.stringify(up.body)}`);
  const inn = await rest(baseUrl, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
  if (inn.status !== 200) throw new Error(`sign-in failed: ${JSON.stringify(inn.body)}`);
  return { email, userId: up.body.data.user.id, organizationId: up.body.data.organization.id, cookie: sessionCookieOf(inn) };
}
