// Issue 3 figure: a flood of password sign-ins (production scrypt cost: logN 15, r 8, p 3) against
// a bounded scrypt queue, and what it does to JWT-authenticated requests running at the same time.
// Usage: npm run bench -- auth-signin-flood
import { benchUser, connectJson, load, report, startServerProcess } from './lib.js';

// The condition is 20 concurrent sign-ins; FLOOD_CONNECTIONS=100 shows overload.
const FLOOD = Number(process.env.FLOOD_CONNECTIONS ?? 20);
const server = await startServerProcess({
  AUTH_IP_LIMIT: '10000000',
  AUTH_EMAIL_LIMIT: '10000000',
  SCRYPT_LOG_N: '15',
  SCRYPT_P: '3',
  ...(process.env.SCRYPT_CONCURRENCY ? { SCRYPT_CONCURRENCY: process.env.SCRYPT_CONCURRENCY } : {}),
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
});
try {
  const { body, email } = await benchUser(server.url);
  const jwt = body.data.accessToken as string;
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const getMe = { url: `${server.url}/latchkey.v1.AuthService/GetMe`, method: 'POST', headers: connectJson({ authorization: `Bearer ${jwt}` }), body: '{}', seconds, connections: 10 };
  const alone = await load({ name: 'GetMe by JWT, alone (10 conns)', ...getMe });
  const signIn = {
    url: `${server.url}/api/auth/sign-in/email`,
    method: 'POST',
    headers: connectJson(),
    body: JSON.stringify({ email, password: 'a-long-secure-passphrase' }),
    seconds,
    connections: FLOOD,
  };
  const [flood, during] = await Promise.all([load({ name: `sign-in flood (${FLOOD} conns; non-2xx = 429 busy)`, ...signIn }), load({ name: 'GetMe by JWT during the flood (10 conns)', ...getMe })]);
  report([alone, flood, during], alone);
} finally {
  await server.stop();
}
