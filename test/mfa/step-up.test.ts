// Step-up: with a second factor, changing roles, deleting an organization and creating a key that
// can write need a factor used in the session in the last 10 minutes (403 SECOND_FACTOR_REQUIRED),
// on REST and gRPC; StepUp renews it. Users without a second factor are not asked.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { rest, transport } from '../helpers/clients.js';
import { createOrg, join, newUser, session, startWorld, type World } from '../org/fixtures.js';
import { codeAt, enrolTotp, signInWithTotp } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(() => w?.stop());

const createKey = (cookie: string, organizationId: string, scopes: string[] = []) =>
  rest(w.server.url, 'POST', '/api/auth/api-key/create', { body: { name: 'k', scopes }, headers: { cookie, orgid: organizationId } });

describe('step-up', () => {
  it('refuses the three operations 10 minutes after the last second factor, and StepUp lets them through again', async () => {
    const alice = await newUser(w, 'Alice');
    const bob = await newUser(w, 'Bob');
    await join(w, alice, alice.organizationId, bob, 'member');
    const { secret } = await enrolTotp(w.server, alice.cookie);
    const cookie = await signInWithTotp(w.server, alice.email, secret, 1);
    const spare = await createOrg(w, { ...alice, cookie }, { name: 'Spare' });

    // Just signed in with the code: allowed.
    expect((await createKey(cookie, alice.organizationId)).status).toBe(200);

    w.server.clock.advance(11 * 60);
    try {
      const key = await createKey(cookie, alice.organizationId, ['api-keys:write']);
      expect([key.status, key.body.reason]).toEqual([403, 'SECOND_FACTOR_REQUIRED']);
      expect(key.body.message).toMatch(/second factor used in the last 10 minutes/);
      expect((await createKey(cookie, alice.organizationId, ['api-keys:read'])).status).toBe(200); // read-only: no step-up
      const role = await rest(w.server.url, 'PATCH', `/api/user/organizations/${alice.organizationId}/members/${bob.userId}`, { body: { role: 'admin' }, headers: session({ cookie }) });
      expect([role.status, role.body.reason]).toEqual([403, 'SECOND_FACTOR_REQUIRED']);
      const del = await rest(w.server.url, 'DELETE', `/api/user/organizations/${spare.id}`, { headers: session({ cookie }) });
      expect([del.status, del.body.reason]).toEqual([403, 'SECOND_FACTOR_REQUIRED']);
      // gRPC: the same rule, permission_denied with the reason.
      const keys = createClient(ApiKeyService, transport(w.server.url, 'grpc'));
      const err = await keys.createApiKey({ name: 'g' }, { headers: { cookie, orgid: alice.organizationId } }).catch((e) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.PermissionDenied);
      expect((err as ConnectError).findDetails(ErrorInfoSchema)[0]?.reason).toBe('SECOND_FACTOR_REQUIRED');

      const wrong = await rest(w.server.url, 'POST', '/api/user/mfa/step-up', { body: { code: '000000' }, headers: { cookie } });
      expect([wrong.status, wrong.body.reason]).toEqual([401, 'SECOND_FACTOR_INVALID']);
      const up = await rest(w.server.url, 'POST', '/api/user/mfa/step-up', { body: { code: codeAt(w.server, secret) }, headers: { cookie } });
      expect(up.status).toBe(200);
      expect(new Date(up.body.data.validUntil).getTime()).toBeGreaterThan(w.server.clock.now().getTime() + 9 * 60_000);

      expect((await createKey(cookie, alice.organizationId, ['api-keys:write'])).status).toBe(200);
      expect((await rest(w.server.url, 'PATCH', `/api/user/organizations/${alice.organizationId}/members/${bob.userId}`, { body: { role: 'admin' }, headers: session({ cookie }) })).status).toBe(200);
      expect((await rest(w.server.url, 'DELETE', `/api/user/organizations/${spare.id}`, { headers: session({ cookie }) })).status).toBe(200);
      const ok = await keys.createApiKey({ name: 'g' }, { headers: { cookie, orgid: alice.organizationId } });
      expect(ok.key).toBeTruthy();
    } finally {
      w.server.clock.advance(-11 * 60);
    }
  });

  it('a user without a second factor is never asked', async () => {
    const carol = await newUser(w, 'Carol');
    w.server.clock.advance(11 * 60);
    try {
      expect((await createKey(carol.cookie, carol.organizationId)).status).toBe(200);
      const up = await rest(w.server.url, 'POST', '/api/user/mfa/step-up', { body: { code: '123456' }, headers: { cookie: carol.cookie } });
      expect(up.status).toBe(400);
    } finally {
      w.server.clock.advance(-11 * 60);
    }
  });
});
