// Checks on the wire format that connect-node answers with 501/INTERNAL, done before it sees the
// request so the client gets a clear invalid_argument: an unknown compression, and a gRPC frame
// flagged compressed on a request that declared no compression.
import { Code, ConnectError } from '@connectrpc/connect';

export type WireProtocol = 'grpc' | 'grpc-web' | 'connect-stream' | 'connect-unary';

/** Compressions the router accepts (see acceptCompression in server.ts). */
export const ENCODINGS = ['gzip', 'br'];

export function protocolOf(contentType: string | undefined): WireProtocol | undefined {
  const ct = (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
  if (ct.startsWith('application/grpc-web')) return 'grpc-web';
  if (ct.startsWith('application/grpc')) return 'grpc';
  if (ct.startsWith('application/connect+')) return 'connect-stream';
  if (ct === 'application/json' || ct === 'application/proto') return 'connect-unary';
  return undefined;
}

/** The header that names the message compression of each protocol. */
export function encodingHeaderOf(p: WireProtocol): string {
  if (p === 'grpc' || p === 'grpc-web') return 'grpc-encoding';
  return p === 'connect-stream' ? 'connect-content-encoding' : 'content-encoding';
}

/** The declared compression, or undefined for none. */
export function requestEncoding(p: WireProtocol, header: (name: string) => string | string[] | undefined): string | undefined {
  const raw = header(encodingHeaderOf(p));
  const value = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().toLowerCase();
  return value === '' || value === 'identity' ? undefined : value;
}

export function unsupportedEncoding(p: WireProtocol, encoding: string): ConnectError {
  return new ConnectError(`unsupported ${encodingHeaderOf(p)} "${encoding.slice(0, 40)}": supported are identity, ${ENCODINGS.join(', ')}`, Code.InvalidArgument);
}

/** The error as each protocol carries it: HTTP status, headers and body. */
export function errorResponse(p: WireProtocol, err: ConnectError): { status: number; headers: Record<string, string>; body: Buffer } {
  const json = { code: Code[err.code].replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase()), message: err.rawMessage };
  const accept = ['identity', ...ENCODINGS].join(',');
  switch (p) {
    case 'grpc':
    case 'grpc-web':
      // Trailers-only response: the status travels in the headers.
      return {
        status: 200,
        headers: { 'content-type': `application/${p}+proto`, 'grpc-status': String(err.code), 'grpc-message': encodeURIComponent(err.rawMessage), 'grpc-accept-encoding': accept },
        body: Buffer.alloc(0),
      };
    case 'connect-stream': {
      const payload = Buffer.from(JSON.stringify({ error: json }));
      const head = Buffer.alloc(5);
      head[0] = 0b10; // end-stream flag
      head.writeUInt32BE(payload.length, 1);
      return { status: 200, headers: { 'content-type': 'application/connect+json', 'connect-accept-encoding': accept }, body: Buffer.concat([head, payload]) };
    }
    case 'connect-unary':
      return { status: 400, headers: { 'content-type': 'application/json', 'accept-encoding': accept }, body: Buffer.from(JSON.stringify(json)) };
  }
}

/**
 * Pass a gRPC / gRPC-web request body through unchanged, failing with invalid_argument at the
 * first frame flagged compressed when the request declared no compression.
 */
export async function* refuseCompressedFrames(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let skip = 0; // payload bytes of the current frame still to pass
  let head: number[] = []; // bytes of a frame header split across chunks
  for await (const chunk of body) {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      head.push(chunk[i++]);
      if (head.length < 5) continue;
      if (head[0] & 0b1) throw new ConnectError('received a compressed message but the request declared no grpc-encoding', Code.InvalidArgument);
      skip = ((head[1] << 24) >>> 0) + (head[2] << 16) + (head[3] << 8) + head[4];
      head = [];
    }
    yield chunk;
  }
}
