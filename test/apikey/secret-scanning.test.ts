// GitHub's secret-scanning partner program: a POSTed JSON array of found tokens, signed by the test's
// own P-256 key (ECDSA, SHA-256, base64 DER) as GitHub signs; each live key revoked, its owner and
// the organization's admins emailed, `api_key.leaked` audited, the documented labels returned; a bad
// or missing signature is 401 and changes nothing.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { generateKey } from '../../src/modules/apikey/key-format.js';
import type { TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { cookie, createKey, join, newUser, startWorld, type World, xApiKey } from './fixtures.js';

const PATH = '/api/secret-scanning/github';
const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';
const pem = (k: typeof github) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();

let w: World;
let admin: TestUser;
let member: TestUser;

beforeAll(async () => {
  w = await startWorld({ SECRET_SCANNING_PUBLIC_KEYS: JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: pem(github), is_current: true }] }) });
  admin = await newUser(w, 'Scan Admin');
  member = await newUser(w, 'Scan Owner');
  await join(w, admin, admin.organizationId, member, 'member');
});
afterAll(async () => {
  await w?.stop();
});

function post(body: string, opts: { signer?: typeof github; keyId?: string; signature?: string } = {}) {
  const signature = opts.signature ?? sign('sha256', Buffer.from(body), { key: (opts.signer ?? github).privateKey, dsaEncoding: 'der' }).toString('base64');
  return rest(w.url, 'POST', PATH, {
    rawBody: body,
    headers: { 'content-type': 'application/json', 'github-public-key-identifier': opts.keyId ?? KEY_ID, 'github-public-key-signature': signature },
  });
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('secret-scanning endpoint', () => {
  it('revokes a live key found in public, emails its owner and the admins, audits api_key.leaked, labels each token', async () => {
    const k = await createKey(w, cookie(member, { orgid: admin.organizationId }), { name: 'committed', scopes: ['user:read'] });
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
    const unknown = generateKey('lk').key;
    const body = JSON.stringify([
      { token: k.key, type: 'latchkey_api_key', url: 'https://github.com/octo/repo/blob/abc/config.js', source: 'content' },
      { token: unknown, type: 'latchkey_api_key', url: '', source: 'commit' },
      { token: 'lk_notakey', type: 'latchkey_api_key', url: '', source: 'content' },
    ]);
    const r = await post(body);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      { token_hash: sha(k.key), token_type: 'latchkey_api_key', label: 'true_positive' },
      { token_hash: sha(unknown), token_type: 'latchkey_api_key', label: 'false_positive' },
      { token_hash: sha('lk_notakey'), token_type: 'latchkey_api_key', label: 'false_positive' },
    ]);
    const use = await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) });
    expect(use.status).toBe(401);
    expect(use.body.message).toBe('API key revoked');
    for (const who of [member, admin]) {
      let mail;
      do mail = await w.smtp.nextMail(who.email);
      while (!/leaked/i.test(mail.subject));
      expect(mail.text).toContain(k.start);
      expect(mail.text).toContain('https://github.com/octo/repo/blob/abc/config.js');
      expect(mail.text).not.toContain(k.key);
    }
    const audit = await rest(w.url, 'GET', `/api/user/organizations/${admin.organizationId}/audit-events?type=api_key.leaked`, { headers: cookie(admin) });
    expect(audit.body.data.auditEvents.map((e: any) => e.targetId)).toEqual([k.id]);
    expect(audit.body.data.auditEvents[0].metadata).toMatchObject({ revoked: true, source: 'GitHub secret scanning: https://github.com/octo/repo/blob/abc/config.js' });
    // Reported again (GitHub retries): still ours, nothing new sent.
    const again = await post(body);
    expect(again.body[0].label).toBe('true_positive');
  });

  it('refuses a bad, foreign, mismatched or missing signature with 401 and revokes nothing', async () => {
    const k = await createKey(w, cookie(member, { orgid: admin.organizationId }), { name: 'safe', scopes: ['user:read'] });
    const body = JSON.stringify([{ token: k.key, type: 'latchkey_api_key', url: '', source: 'content' }]);
    const good = sign('sha256', Buffer.from(body), { key: github.privateKey, dsaEncoding: 'der' }).toString('base64');
    const attempts = [
      post(body, { signer: stranger }),
      post(body, { keyId: 'unknown-key-id' }),
      post(`${body} `, { signature: good }), // body changed after signing
      post(body, { signature: 'bm90IGEgc2lnbmF0dXJl' }),
      rest(w.url, 'POST', PATH, { rawBody: body, headers: { 'content-type': 'application/json' } }),
    ];
    for (const r of await Promise.all(attempts)) {
      expect(r.status).toBe(401);
      expect(r.body.message).toMatch(/signature/i);
    }
    expect((await rest(w.url, 'GET', '/api/user/me', { headers: xApiKey(k.key) })).status).toBe(200);
  });

  it('answers 400 to a signed body that is not an array of tokens, 405 to other methods', async () => {
    expect((await post('{"token":"x"}')).status).toBe(400);
    expect((await post('[{"type":"x"}]')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    expect((await rest(w.url, 'GET', PATH)).status).toBe(405);
  });

  it('SECRET_SCANNING_PUBLIC_KEYS is JSON of PEM keys or a URL; anything else stops start-up', () => {
    expect(loadConfig({}).secretScanningPublicKeys).toBeUndefined();
    expect(loadConfig({ SECRET_SCANNING_PUBLIC_KEYS: 'https://api.github.com/meta/public_keys/secret_scanning' }).secretScanningPublicKeys).toEqual({
      url: 'https://api.github.com/meta/public_keys/secret_scanning',
    });
    const list = loadConfig({ SECRET_SCANNING_PUBLIC_KEYS: JSON.stringify([{ key_identifier: 'a', key: pem(github) }]) }).secretScanningPublicKeys;
    expect(list).toMatchObject({ keys: [{ keyIdentifier: 'a' }] });
    expect(() => loadConfig({ SECRET_SCANNING_PUBLIC_KEYS: '[{"key_identifier":"a","key":"not a pem"}]' })).toThrow(/SECRET_SCANNING_PUBLIC_KEYS/);
    expect(() => loadConfig({ SECRET_SCANNING_PUBLIC_KEYS: 'nonsense' })).toThrow(/SECRET_SCANNING_PUBLIC_KEYS/);
  });
});
