// Branded keys: KEY_PREFIX sets the prefix of new keys; keys minted under an older prefix keep
// working; the checksum covers the prefix, so a one-character typo anywhere is refused without a query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../gen/latchkey/v1/api_key_pb.js';
import { loadConfig } from '../../src/config.js';
import type { TestUser } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { cookie, countQueries, createKey, newUser, startWorld, type World, xApiKey } from './fixtures.js';

let w: World;
let u: TestUser;
let oldKey: { id: string; key: string };

beforeAll(async () => {
  w = await startWorld({ KEY_PREFIX: 'amk' });
  u = await newUser(w, 'Brand');
  // A key minted before the brand changed: the same server with the default prefix for one create.
  const opts = (w.server.deps.apiKeys.lifecycle as unknown as { opts: { prefix: string } }).opts;
  opts.prefix = 'lk';
  oldKey = await createKey(w, cookie(u), { scopes: ['user:read'] });
  opts.prefix = w.server.config.apiKeyPrefix;
});
afterAll(async () => {
  await w?.stop();
});

const typos = (key: string): string[] => {
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : s[i] === '_' ? '-' : 'a') + s.slice(i + 1);
  return [flip(key, 0), flip(key, 1), flip(key, key.indexOf('_')), flip(key, key.indexOf('_') + 5), flip(key, key.length - 1), key.slice(1), `x${key}`];
};

describe('KEY_PREFIX', () => {
  it('is read from the environment, "lk" by default, and refused when malformed', () => {
    expect(loadConfig({}).apiKeyPrefix).toBe('lk');
    expect(loadConfig({ KEY_PREFIX: 'amk' }).apiKeyPrefix).toBe('amk');
    expect(loadConfig({ KEY_PREFIX: 'ba' }).apiKeyPrefix).toBe('ba');
    expect(() => loadConfig({ KEY_PREFIX: 'AMK!' })).toThrow(/KEY_PREFIX/);
  });

  it('new keys carry the brand and verify over REST and gRPC; old lk_ keys still verify', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read', 'introspect'] });
    expect(k.key).toMatch(/^amk_[0-9A-Za-z]{49}$/);
    expect(k.start).toMatch(/^amk_/);
    expect(oldKey.key).toMatch(/^lk_/);
    for (const key of [k.key, oldKey.key]) {
      const me = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(key) });
      expect(me.status).toBe(200);
      expect(me.body.data.id ?? me.body.data.user?.id).toBe(u.userId);
    }
    const v = await client(ApiKeyService, w.url, 'grpc').verifyApiKey({ key: oldKey.key }, { headers: { 'x-api-key': k.key, orgid: u.organizationId } });
    expect(v).toMatchObject({ valid: true, code: 'VALID', keyId: oldKey.id });
  });

  it('a one-character typo in a branded or an old key (prefix included) is refused without a query', async () => {
    const k = await createKey(w, cookie(u), { scopes: ['user:read'] });
    for (const key of [k.key, oldKey.key]) {
      for (const bad of typos(key)) {
        const { count, result } = await countQueries(w, () => rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(bad) }));
        expect(result.status).toBe(401);
        expect(result.body).toMatchObject({ message: 'Invalid API key', reason: 'API_KEY_INVALID' });
        expect(count).toBe(0);
      }
    }
  });
});
