// Issue 3 figure: GetMe authenticated by an access token (offline EdDSA verify + in-memory session
// check) next to the no-op RPC and the cookie path, 50 connections, Connect JSON.
// Usage: npm run bench -- auth-jwt   (DATABASE_URL=postgres://… for a real PostgreSQL)
import { benchUser, connectJson, load, report, startServerProcess } from './lib.js';

const server = await startServerProcess({ AUTH_IP_LIMIT: '1000000', ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) });
try {
  const { cookie, body } = await benchUser(server.url);
  const jwt = body.data.accessToken as string;
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const noop = await load({ name: 'no-op Health/Check', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', seconds });
  const byJwt = await load({
    name: 'GetMe by JWT (Bearer)',
    url: `${server.url}/latchkey.v1.AuthService/GetMe`,
    method: 'POST',
    headers: connectJson({ authorization: `Bearer ${jwt}` }),
    body: '{}',
    seconds,
  });
  const byCookie = await load({ name: 'GetMe by cookie', url: `${server.url}/latchkey.v1.AuthService/GetMe`, method: 'POST', headers: connectJson({ cookie }), body: '{}', seconds });
  const jwks = await load({ name: 'GET /.well-known/jwks.json', url: `${server.url}/.well-known/jwks.json`, seconds });
  report([noop, byJwt, byCookie, jwks], noop);
} finally {
  await server.stop();
}
