// The client SDK's key cache is the same Cache: 50 concurrent verifications of one new key make one
// VerifyApiKey call, the answer lives keyCacheSeconds on the clock the service passes in (advanced
// here, not waited for), and a revocation shows once it has expired.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLatchkeyVerifier, LatchkeyAuthError } from '../../src/client/index.js';
import { OffsetClock } from '../../src/modules/common/clock.js';
import { cookie, createKey, newUser, startWorld, type World } from '../apikey/fixtures.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';

let w: World;
let root: TestUser;
let service: { key: string };
beforeAll(async () => {
  w = await startWorld();
  root = await newUser(w, 'Client Cache');
  service = await createKey(w, cookie(root, { orgid: root.organizationId }), { scopes: ['introspect'] });
});
afterAll(() => w?.stop());

it('one VerifyApiKey call for 50 concurrent misses; expiry on the injected clock', async () => {
  const clock = new OffsetClock();
  const v = createLatchkeyVerifier({ baseUrl: w.url, transport: 'grpc', credential: service.key, keyCacheSeconds: 10, clock });
  const k = await createKey(w, cookie(root, { orgid: root.organizationId }), { scopes: ['read'] });
  const all = await Promise.all(Array.from({ length: 50 }, () => v.verify(`Bearer ${k.key}`)));
  expect(all.every((p) => p.kind === 'apiKey' && p.keyId === k.id)).toBe(true);
  expect(v.stats().keyVerifications).toBe(1);

  expect((await rest(w.url, 'DELETE', `/api-key/${k.id}`, { headers: cookie(root, { orgid: root.organizationId }) })).status).toBe(200);
  clock.advance(9);
  expect((await v.verify(k.key)).kind).toBe('apiKey'); // still the cached answer: documented staleness
  expect(v.stats().keyVerifications).toBe(1);
  clock.advance(2);
  const e = await v.verify(k.key).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LatchkeyAuthError);
  expect((e as LatchkeyAuthError).code).toBe('REVOKED');
  expect(v.stats().keyVerifications).toBe(2);
});
