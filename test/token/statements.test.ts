// Statements the server sends to the database for sign-in, refresh and API-key create (issue 14's
// bounds: ≤ 4, ≤ 3, ≤ 4), and none for a session → access token on a warm session. Counted at the
// ORM's query logger, so BEGIN / COMMIT count as statements too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookie, countQueries, createKey, newUser, startWorld, type World } from '../apikey/fixtures.js';
import { PASSWORD, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';

let w: World;
let u: TestUser;
beforeAll(async () => {
  w = await startWorld();
  u = await newUser(w, 'Counted');
});
afterAll(() => w?.stop());

const show = (sql: string[]) => sql.map((q, i) => `${i + 1}. ${q.slice(0, 160)}`).join('\n');

describe('statements per call', () => {
  it('sign-in sends at most 4 statements', async () => {
    const { count, sql, result } = await countQueries(w, () => rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } }));
    expect(result.status).toBe(200);
    expect(count, show(sql)).toBeLessThanOrEqual(4);
  });

  it('refresh sends at most 3 statements', async () => {
    const signedIn = await rest(w.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
    const { count, sql, result } = await countQueries(w, () => rest(w.url, 'POST', '/api/auth/refresh', { body: { refreshToken: signedIn.body.data.refreshToken } }));
    expect(result.status).toBe(200);
    expect(result.body.data.refreshToken).toBeTruthy();
    expect(count, show(sql)).toBeLessThanOrEqual(3);
  });

  it('API key create sends at most 4 statements', async () => {
    await createKey(w, cookie(u, { orgid: u.organizationId })); // warm the caller's session and role
    const { count, sql, result } = await countQueries(w, () => createKey(w, cookie(u, { orgid: u.organizationId }), { scopes: ['user:read'] }));
    expect(result.key).toMatch(/./);
    expect(count, show(sql)).toBeLessThanOrEqual(4);
  });

  // Its audit event goes to every organization of the user, read inside the transaction: one more.
  it('a personal access token (no organization) sends at most 5', async () => {
    await createKey(w, cookie(u));
    const { count, sql, result } = await countQueries(w, () => createKey(w, cookie(u), { scopes: ['user:read'] }));
    expect(result.key).toMatch(/./);
    expect(count, show(sql)).toBeLessThanOrEqual(5);
  });

  it('GET /api/auth/token on a warm session sends none', async () => {
    expect((await rest(w.url, 'GET', '/api/auth/token', { headers: cookie(u) })).status).toBe(200);
    const { count, sql, result } = await countQueries(w, () => rest(w.url, 'GET', '/api/auth/token', { headers: cookie(u) }));
    expect(result.status).toBe(200);
    expect(count, show(sql)).toBe(0);
  });
});
