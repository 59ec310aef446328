// Graceful shutdown: in-flight requests finish, new connections are refused, keep-alive sockets close.
import { expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer } from '../helpers/server.js';

it('finishes an in-flight sign-up while shutting down, then refuses connections', async () => {
  // A costly scrypt makes the sign-up slow enough to be in flight when close() starts.
  const s = await startServer({ env: { SCRYPT_LOG_N: '16' } });
  const url = s.url;
  try {
    await rest(url, 'GET', '/healthz'); // leaves a keep-alive connection open
    const inflight = rest(url, 'POST', '/api/auth/sign-up/email', { body: { email: uniqueEmail('shutdown'), password: PASSWORD } });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const closing = s.stop();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    await closing;
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  } catch (e) {
    await s.stop().catch(() => {});
    throw e;
  }
});
