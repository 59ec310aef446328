// Large, short and oversized bodies on every protocol: refused early with 413 /
// resource_exhausted, the connection stays usable (or closes cleanly), other clients are served.
import http from 'node:http';
import http2 from 'node:http2';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { TokenService } from '../../gen/latchkey/v1/token_pb.js';
import { client, PROTOCOLS } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

const REQUEST_MS = 2_000;
const IDLE_MS = 3_000;
const FIFTY_MB = 50 * 1024 * 1024;

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ env: { HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS), HTTP_IDLE_TIMEOUT_MS: String(IDLE_MS) } });
});
afterAll(() => s?.stop());

/** Health checks answered while `work` runs. */
async function servedDuring<T>(work: Promise<T>): Promise<{ result: T; served: number; failed: number }> {
  let served = 0;
  let failed = 0;
  let done = false;
  const probing = (async () => {
    while (!done) {
      const r = await fetch(`${s.url}/healthz`).catch(() => undefined);
      if (r?.ok) served++;
      else failed++;
      await r?.text();
    }
  })();
  try {
    return { result: await work, served, failed };
  } finally {
    done = true;
    await probing;
  }
}

const h2Transport = (protocol: 'grpc' | 'connect-binary') =>
  protocol === 'grpc'
    ? createGrpcTransport({ baseUrl: s.url, nodeOptions: { maxSessionMemory: 256 } })
    : createConnectTransport({ baseUrl: s.url, httpVersion: '2', useBinaryFormat: true, nodeOptions: { maxSessionMemory: 256 } });

describe('a 50 MB body', () => {
  const name = 'x'.repeat(FIFTY_MB);

  it.each(PROTOCOLS)('is refused early over %s with resource_exhausted; other clients keep being served', async (protocol) => {
    // A 50 MB message is buffered whole by the client's own HTTP/2 session: let it hold that much.
    const c = protocol === 'grpc' || protocol === 'connect-binary' ? createClient(AuthService, h2Transport(protocol)) : client(AuthService, s.url, protocol);
    const started = Date.now();
    const { result, served, failed } = await servedDuring(
      c.signUp({ email: 'big@example.com', password: 'a-long-secure-passphrase', name }).then(
        () => undefined,
        (e) => ConnectError.from(e),
      ),
    );
    expect(result?.code, result?.message).toBe(Code.ResourceExhausted);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failed).toBe(0);
    expect(served).toBeGreaterThan(0);
  });

  it('is refused over REST with 413 before it is read, whatever Content-Length says', async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent >= FIFTY_MB) return ctrl.close();
        const chunk = new Uint8Array(64 * 1024).fill(0x20);
        sent += chunk.length;
        ctrl.enqueue(chunk);
      },
    });
    const { result: r, failed } = await servedDuring(
      fetch(`${s.url}/api/auth/sign-up/email`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit),
    );
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject({ success: false, status: 413 });
    expect(failed).toBe(0);
    expect(sent).toBeLessThan(FIFTY_MB); // the answer came before the upload finished
  });
});

describe('the connection after an oversized body', () => {
  const big = 'x'.repeat(2 * 1024 * 1024);

  it.each([
    ['gRPC-web', (agent: http.Agent) => createGrpcWebTransport({ baseUrl: s.url, httpVersion: '1.1', nodeOptions: { agent } })],
    ['Connect JSON', (agent: http.Agent) => createConnectTransport({ baseUrl: s.url, httpVersion: '1.1', nodeOptions: { agent } })],
  ] as const)('%s over HTTP/1.1 keep-alive: all 18 follow-up requests succeed', async (_name, make) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const t = make(agent);
      const auth = createClient(AuthService, t);
      const token = createClient(TokenService, t);
      let ok = 0;
      for (let i = 0; i < 6; i++) {
        const err = await auth.signUp({ email: 'big@example.com', password: 'a-long-secure-passphrase', name: big }).then(
          () => undefined,
          (e) => ConnectError.from(e),
        );
        expect(err?.code).toBe(Code.ResourceExhausted);
        for (let j = 0; j < 3; j++) if ((await token.getJwks({})).keys.length > 0) ok++;
      }
      expect(ok).toBe(18);
    } finally {
      agent.destroy();
    }
  });

  it('HTTP/2: the stream is answered and reset, the session serves the next requests', async () => {
    const session = http2.connect(s.url);
    try {
      const t = createConnectTransport({ baseUrl: s.url, httpVersion: '2' });
      const auth = createClient(AuthService, t);
      const err = await auth.signUp({ email: 'big@example.com', password: 'a-long-secure-passphrase', name: big }).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.ResourceExhausted);
      expect((await createClient(TokenService, t).getJwks({})).keys.length).toBeGreaterThan(0);
    } finally {
      session.close();
    }
  });
});

describe('bodies shorter than declared and idle sessions', () => {
  it('HTTP/2: a stream that sends 10 of 1,000 declared bytes gets 408 after the request timeout', async () => {
    const session = http2.connect(s.url);
    try {
      const started = Date.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/api/auth/sign-up/email', 'content-type': 'application/json', 'content-length': '1000' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.write('{"email":"');
      });
      expect(status).toBe(408);
      expect(Date.now() - started).toBeGreaterThanOrEqual(REQUEST_MS - 100);
      expect(Date.now() - started).toBeLessThan(REQUEST_MS + 2_000);
    } finally {
      session.destroy();
    }
  });

  it('HTTP/2: an idle session is closed after the idle timeout', async () => {
    const session = http2.connect(s.url);
    await new Promise((r) => session.once('connect', r));
    const started = Date.now();
    await new Promise((r) => session.once('close', r));
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 100);
    expect(Date.now() - started).toBeLessThan(IDLE_MS + 2_500);
  });

  it('HTTP/2: the server announces its stream and header limits', async () => {
    const session = http2.connect(s.url);
    try {
      const settings = await new Promise<http2.Settings>((r) => session.once('remoteSettings', r));
      expect(settings.maxConcurrentStreams).toBe(100);
      expect(settings.maxHeaderListSize).toBe(32 * 1024);
    } finally {
      session.close();
    }
  });
});
