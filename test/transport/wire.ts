// Raw clients for the transport tests: bytes over a TCP socket (HTTP/1.1) and one stream over
// node:http2 (h2c), so a test can send what well-behaved clients never would.
import http2 from 'node:http2';
import net from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Send bytes on a fresh connection and read until the server closes it or `ms` passes. */
export function rawHttp1(port: number, bytes: Buffer | string, ms = 5_000): Promise<RawResponse & { closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect(port, '127.0.0.1', () => c.write(bytes));
    const done = (closed: boolean) => {
      clearTimeout(timer);
      c.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest.join('\r\n\r\n'), closed });
    };
    const timer = setTimeout(() => done(false), ms);
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => done(true));
    c.on('error', (e) => (chunks.length ? done(true) : reject(e)));
  });
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One request over its own h2c session. */
export async function h2Request(url: string, headers: http2.OutgoingHttpHeaders, body?: Buffer, session?: http2.ClientHttp2Session): Promise<H2Response> {
  const s = session ?? http2.connect(url);
  try {
    return await new Promise<H2Response>((resolve, reject) => {
      const req = s.request({ ':method': 'POST', ...headers });
      let status = 0;
      let resHeaders: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => ((status = Number(h[':status'])), (resHeaders = h)));
      req.on('trailers', (t) => (trailers = t));
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => resolve({ status, headers: resHeaders, trailers, body: Buffer.concat(chunks) }));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    if (!session) s.close();
  }
}

/** A gRPC / Connect envelope: flags byte, big-endian length, payload. */
export function envelope(payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The grpc-status of a response, from trailers or (trailers-only) headers. */
export const grpcStatus = (r: H2Response) => Number(r.trailers['grpc-status'] ?? r.headers['grpc-status']);
