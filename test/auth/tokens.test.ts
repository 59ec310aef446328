// Access tokens (EdDSA JWTs verified offline with the JWKS), rotating refresh tokens with reuse
// detection, and signing-key rotation.
import { Code, ConnectError } from '@connectrpc/connect';
import { RequestContext } from '@mikro-orm/core';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { PASSWORD, signUpAndIn } from '../helpers/accounts.js';
import { client, rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function signIn(email: string) {
  const res = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body.data as { accessToken: string; refreshToken: string; accessTokenExpiresAt: string; sessionId: string; user: { id: string } };
}

async function jwks(): Promise<JSONWebKeySet> {
  const res = await fetch(`${s.url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

describe('sign-in tokens', () => {
  it('SignIn returns an EdDSA access token verifiable offline against the JWKS with a plain JOSE call', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    expect(t.refreshToken).toMatch(/^[\w-]{43}$/);
    expect(Date.parse(t.accessTokenExpiresAt) - Date.now()).toBeGreaterThan(14 * 60_000);
    const set = await jwks();
    expect(set.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(set.keys[0]).not.toHaveProperty('d');
    const { payload, protectedHeader } = await jwtVerify(t.accessToken, createLocalJWKSet(set), { algorithms: ['EdDSA'], issuer: s.config.publicUrl, audience: 'latchkey' });
    expect(protectedHeader.kid).toBe(set.keys[0].kid);
    expect(payload).toMatchObject({ sub: u.userId, sid: t.sessionId, iss: s.config.publicUrl, aud: 'latchkey' });
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
    expect(typeof payload.jti).toBe('string');
  });

  it('authenticates GetMe by Authorization: Bearer <jwt> over REST and gRPC', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    const me = await rest(s.url, 'GET', '/profile/whoami', { headers: { ...bearer(t.accessToken), orgid: u.organizationId } });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: u.userId, email: u.email });
    const grpc = client(AuthService, s.url, 'grpc');
    const res = await grpc.getMe({}, { headers: bearer(t.accessToken) });
    expect(res.user?.id).toBe(u.userId);
  });

  it('refuses forged, tampered, alg=none and expired tokens with 401', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    const [h, p, sig] = t.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const otherSub = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: decodeProtectedHeader(t.accessToken).kid })).toString('base64url')}.${p}.`;
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: decodeProtectedHeader(t.accessToken).kid }).sign(new TextEncoder().encode('x'.repeat(32)));
    for (const bad of [`${h}.${otherSub}.${sig}`, none + 'AAAA', hs]) {
      const res = await rest(s.url, 'GET', '/api/user/me', { headers: bearer(bad) });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Invalid access token');
    }
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: bearer(t.accessToken) })).status).toBe(200); // now cached as verified
    s.clock.advance(15 * 60 + 1);
    try {
      const res = await rest(s.url, 'GET', '/api/user/me', { headers: bearer(t.accessToken) });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Access token expired');
    } finally {
      s.clock.advance(-(15 * 60 + 1));
    }
  });

  it('verifies a JWT with no database round trip (warm session state)', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    const conn = s.deps.db.orm.em.getConnection();
    const original = conn.execute.bind(conn);
    let queries = 0;
    (conn as any).execute = (...args: any[]) => {
      queries++;
      return (original as any)(...args);
    };
    try {
      const p = await RequestContext.create(s.deps.db.orm.em, () => s.deps.authenticator.authenticate({ bearer: t.accessToken }));
      expect(p).toMatchObject({ kind: 'jwt', userId: u.userId, sessionId: t.sessionId });
    } finally {
      (conn as any).execute = original;
    }
    expect(queries).toBe(0);
  });

  it('stops a JWT at once when its session signs out', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: bearer(t.accessToken) })).status).toBe(200);
    const out = await rest(s.url, 'POST', '/api/auth/sign-out', { headers: bearer(t.accessToken), body: {} });
    expect(out.status).toBe(200);
    const after = await rest(s.url, 'GET', '/api/user/me', { headers: bearer(t.accessToken) });
    expect(after.status).toBe(401);
    expect(after.body.message).toMatch(/Session ended/);
    const refresh = await rest(s.url, 'POST', '/api/auth/refresh', { body: { refreshToken: t.refreshToken } });
    expect(refresh.status).toBe(401);
  });
});

describe('refresh rotation (seed 000: POST /user/refresh)', () => {
  it('rotates: every refresh gives a new working pair', async () => {
    const u = await signUpAndIn(s.url);
    let t = await signIn(u.email);
    for (const path of ['/user/refresh', '/api/auth/refresh']) {
      const res = await rest(s.url, 'POST', path, { body: { refreshToken: t.refreshToken } });
      expect(res.status).toBe(200);
      expect(res.body.data.refreshToken).not.toBe(t.refreshToken);
      expect(res.body.data.accessToken).not.toBe(t.accessToken);
      const me = await rest(s.url, 'GET', '/api/user/me', { headers: bearer(res.body.data.accessToken) });
      expect(me.body.data.id).toBe(u.userId);
      t = { ...t, ...res.body.data };
    }
  });

  it('over gRPC too', async () => {
    const u = await signUpAndIn(s.url);
    const grpc = client(AuthService, s.url, 'grpc');
    const signed = await grpc.signIn({ email: u.email, password: PASSWORD });
    const next = await grpc.refreshAccessToken({ refreshToken: signed.refreshToken });
    expect(next.refreshToken).not.toBe(signed.refreshToken);
    expect(next.accessTokenExpiresAt).toBeDefined();
    expect((await grpc.getMe({}, { headers: bearer(next.accessToken) })).user?.id).toBe(u.userId);
  });

  it('tolerates a retry within the grace period, then treats reuse as theft: the family is revoked, 401', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    const first = await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: t.refreshToken } });
    expect(first.status).toBe(200);
    const retry = await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: t.refreshToken } });
    expect(retry.status).toBe(200); // a lost response, seconds later
    s.clock.advance(s.config.refreshReuseGraceSeconds + 1);
    const reuse = await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: t.refreshToken } });
    s.clock.advance(-(s.config.refreshReuseGraceSeconds + 1));
    expect(reuse.status).toBe(401);
    expect(reuse.body).toMatchObject({ success: false, code: 'UNAUTHORIZED', message: expect.stringMatching(/already used/) });
    // Every token of the family is dead, and so is the session's access token.
    const child = await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: first.body.data.refreshToken } });
    expect(child.status).toBe(401);
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: bearer(first.body.data.accessToken) })).status).toBe(401);
    // Another session of the same user is untouched.
    const other = await signIn(u.email);
    expect((await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: other.refreshToken } })).status).toBe(200);
  });

  it('refuses unknown and expired refresh tokens', async () => {
    const unknown = await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: 'x'.repeat(43) } });
    expect(unknown.status).toBe(401);
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    s.clock.advance(30 * 86_400 + 1);
    try {
      const res = await rest(s.url, 'POST', '/user/refresh', { body: { refreshToken: t.refreshToken } });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Refresh token expired');
    } finally {
      s.clock.advance(-(30 * 86_400 + 1));
    }
  });
});

describe('signing keys', () => {
  it('stores the private key sealed, never as a plain JWK', async () => {
    const rows = await s.deps.db.orm.em.fork().getConnection().execute<{ private_jwk: string }[]>('select private_jwk from signing_keys');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.private_jwk).toMatch(/^v1\./);
      expect(r.private_jwk).not.toContain('"d"');
    }
  });

  it('rotation on demand keeps tokens of the old key valid until they expire, then drops the old key', async () => {
    const u = await signUpAndIn(s.url);
    const before = await signIn(u.email);
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    await s.deps.signingKeys.rotate();
    const after = await signIn(u.email);
    const newKid = decodeProtectedHeader(after.accessToken).kid;
    expect(newKid).not.toBe(oldKid);
    const set = await jwks();
    expect(set.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    for (const t of [before, after]) {
      await jwtVerify(t.accessToken, createLocalJWKSet(set), { algorithms: ['EdDSA'], issuer: s.config.publicUrl, audience: 'latchkey' });
      expect((await rest(s.url, 'GET', '/api/user/me', { headers: bearer(t.accessToken) })).status).toBe(200);
    }
    // Once every token the old key signed has expired, it leaves the JWKS.
    s.clock.advance(s.config.accessTokenTtlSeconds + 10 * 60);
    try {
      expect((await jwks()).keys.map((k) => k.kid)).not.toContain(oldKid);
    } finally {
      s.clock.advance(-(s.config.accessTokenTtlSeconds + 10 * 60));
    }
  });

  it('rotates on schedule (SIGNING_KEY_ROTATION_DAYS) and survives a restart with the same keys', async () => {
    const u = await signUpAndIn(s.url);
    const t = await signIn(u.email);
    const kid = decodeProtectedHeader(t.accessToken).kid;
    s.clock.advance(s.config.signingKeyRotationDays * 86_400 + 1);
    try {
      const later = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: PASSWORD } });
      expect(decodeProtectedHeader(later.body.data.accessToken).kid).not.toBe(kid);
    } finally {
      s.clock.advance(-(s.config.signingKeyRotationDays * 86_400 + 1));
    }
    const fresh = await signIn(u.email);
    await s.restart();
    expect((await rest(s.url, 'GET', '/api/user/me', { headers: bearer(fresh.accessToken) })).status).toBe(200);
  });

  it('GetJwks over Connect gives the same keys', async () => {
    const res = await client(TokenService, s.url, 'connect').getJwks({});
    expect(res.keys.map((k) => k.kid)).toEqual((await jwks()).keys.map((k) => k.kid));
  });
});

describe('bad bearer', () => {
  it('answers 401 for a bearer that is neither a JWT nor a key', async () => {
    const res = await rest(s.url, 'GET', '/api/user/me', { headers: bearer('nonsense') });
    expect(res.status).toBe(401);
    await expect(client(AuthService, s.url, 'connect').getMe({}, { headers: bearer('eyJ.x.y') })).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.Unauthenticated);
  });
});
