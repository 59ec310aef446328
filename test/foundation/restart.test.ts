// Data written before a restart is there after it (same DATA_DIR / same database).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, signUpAndIn } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

it('keeps accounts, organizations and sessions across a restart', async () => {
  const u = await signUpAndIn(s.url);
  await s.restart();
  const me = await rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } });
  expect(me.status).toBe(200);
  expect(me.body.data.email).toBe(u.email);
  const orgs = await rest(s.url, 'GET', '/api/user/organizations', { headers: { cookie: u.cookie } });
  expect(orgs.body.data.organizations[0].id).toBe(u.organizationId);
  const again = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
  expect(again.status).toBe(200);
});
