// Graceful shutdown: in-flight requests finish, new connections are refused, keep-alive sockets close.
import net from 'node:net';
import { expect, it } from 'vitest';
import { PASSWORD, uniqueEmail } from '../helpers/accounts.js';
import { startServer } from '../helpers/server.js';

it('finishes a sign-up that is provably in flight when shutdown starts, then refuses connections', { timeout: 90_000 }, async () => {
  const s = await startServer();
  const url = s.url;
  let stopped = false;
  try {
    await fetch(`${url}/healthz`).then((r) => r.text()); // leaves a keep-alive connection open
    // Expect: 100-continue makes the server say when it has read the headers and started the
    // request; the body is sent only after shutdown has begun, so the request is in flight.
    const body = JSON.stringify({ email: uniqueEmail('shutdown'), password: PASSWORD });
    const c = net.connect(s.port, '127.0.0.1');
    let received = '';
    const continued = new Promise<void>((resolve) => c.on('data', (d) => ((received += d.toString()), received.includes('100 Continue') && resolve())));
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.write(`POST /api/auth/sign-up/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
    await continued;

    const started = Date.now();
    const closing = s.stop().then(() => (stopped = true));
    c.write(body);
    await Promise.race([closed, closing]);
    const answer = received.slice(received.indexOf('\r\n\r\n') + 4);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ success: true });
    await closing;
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  } finally {
    if (!stopped) await s.stop().catch(() => {});
  }
});
