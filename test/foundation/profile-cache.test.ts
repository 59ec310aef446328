// GetMe is served from a cache on the hot path; every change a user can see shows at once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, signUpAndIn } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

it('shows a new organization, a removal and a new sign-in at once', async () => {
  const u = await signUpAndIn(s.url);
  const me = () => rest(s.url, 'GET', '/api/user/me', { headers: { cookie: u.cookie } }).then((r) => r.body.data);
  const first = await me();
  expect(first.organizationCount).toBe(1);
  expect((await me()).organizationCount).toBe(1); // warm

  const created = await rest(s.url, 'POST', '/api/user/organizations', { headers: { cookie: u.cookie }, body: { name: 'Second' } });
  expect(created.status).toBe(200);
  expect((await me()).organizationCount).toBe(2);

  const deleted = await rest(s.url, 'DELETE', `/api/user/organizations/${created.body.data.id}`, { headers: { cookie: u.cookie } });
  expect(deleted.status).toBe(200);
  expect((await me()).organizationCount).toBe(1);

  await new Promise((r) => setTimeout(r, 5));
  const again = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
  expect(again.status).toBe(200);
  expect(new Date((await me()).lastLoginAt).getTime()).toBeGreaterThan(new Date(first.lastLoginAt).getTime());
});
