// Issue 2 figure: no-op RPC (Health/Check, Connect JSON) vs GetMe by session cookie, 50 connections.
// Usage: npm run bench -- getme-cookie   (DATABASE_URL=postgres://… to bench on a real PostgreSQL)
import { benchUser, connectJson, load, report, startServerProcess } from './lib.js';

const server = await startServerProcess(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {});
try {
  const { cookie } = await benchUser(server.url);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const noop = await load({ name: 'no-op Health/Check (Connect JSON)', url: `${server.url}/grpc.health.v1.Health/Check`, method: 'POST', headers: connectJson(), body: '{}', seconds });
  const me = await load({ name: 'GetMe by cookie (Connect JSON)', url: `${server.url}/latchkey.v1.AuthService/GetMe`, method: 'POST', headers: connectJson({ cookie }), body: '{}', seconds });
  report([noop, me], noop);
} finally {
  await server.stop();
}
