// Raw requests for the validation tests: protobuf bytes on each binary protocol, and a raw
// HTTP/1.1 request for header bytes that fetch refuses to send.
import http2 from 'node:http2';
import net from 'node:net';
import { fromBinary } from '@bufbuild/protobuf';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';

export interface WireAnswer {
  /** HTTP status of the response. */
  status: number;
  /** gRPC status (grpc, grpc-web) or the Connect error code string (connect). */
  code: string;
  message: string;
  reason?: string;
}

const envelope = (bytes: Uint8Array) => {
  const out = Buffer.alloc(5 + bytes.length);
  out.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(out, 5);
  return out;
};

const reasonOfDetails = (bin: string | undefined): string | undefined => {
  if (!bin) return undefined;
  // grpc-status-details-bin is a google.rpc.Status: field 3 holds Any details; find ErrorInfo's reason.
  const buf = Buffer.from(bin, 'base64');
  const marker = Buffer.from('google.rpc.ErrorInfo');
  const at = buf.indexOf(marker);
  if (at < 0) return undefined;
  // Any { type_url = 1; value = 2 }: after the type URL comes tag 0x12, a length, and the ErrorInfo bytes.
  let i = at + marker.length;
  if (buf[i] !== 0x12) return undefined;
  let len = 0;
  let shift = 0;
  for (i++; ; i++) {
    len |= (buf[i] & 0x7f) << shift;
    shift += 7;
    if (!(buf[i] & 0x80)) break;
  }
  return fromBinary(ErrorInfoSchema, buf.subarray(i + 1, i + 1 + len)).reason;
};

/** A Connect unary call with a binary body (application/proto) over HTTP/1.1. */
export async function connectBinary(baseUrl: string, path: string, body: Uint8Array): Promise<WireAnswer> {
  const res = await fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' }, body });
  const text = await res.text();
  let json: any = {};
  try {
    json = JSON.parse(text);
  } catch {
    /* a binary success body */
  }
  const info = json.details?.find((d: any) => d.type === 'google.rpc.ErrorInfo');
  return { status: res.status, code: json.code ?? 'ok', message: json.message ?? '', reason: info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, 'base64')).reason : undefined };
}

/** A gRPC-web call (binary) over HTTP/1.1; the status is in the trailer frame or the headers. */
export async function grpcWeb(baseUrl: string, path: string, body: Uint8Array): Promise<WireAnswer> {
  const res = await fetch(baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' }, body: envelope(body) });
  const buf = Buffer.from(await res.arrayBuffer());
  const trailers = new Map<string, string>();
  res.headers.forEach((v, k) => trailers.set(k, v));
  for (let i = 0; i + 5 <= buf.length; ) {
    const flag = buf[i];
    const len = buf.readUInt32BE(i + 1);
    if (flag & 0x80) {
      for (const line of buf
        .subarray(i + 5, i + 5 + len)
        .toString('utf8')
        .split('\r\n')) {
        const c = line.indexOf(':');
        if (c > 0) trailers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
      }
    }
    i += 5 + len;
  }
  return {
    status: res.status,
    code: trailers.get('grpc-status') ?? '?',
    message: decodeURIComponent(trailers.get('grpc-message') ?? ''),
    reason: reasonOfDetails(trailers.get('grpc-status-details-bin')),
  };
}

/** A gRPC call over h2c. */
export function grpc(baseUrl: string, path: string, body: Uint8Array): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.once('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc+proto', te: 'trailers' });
    let status = 0;
    const meta = new Map<string, string>();
    stream.on('response', (h) => {
      status = Number(h[':status']);
      for (const [k, v] of Object.entries(h)) if (typeof v === 'string') meta.set(k, v);
    });
    stream.on('trailers', (t) => {
      for (const [k, v] of Object.entries(t)) if (typeof v === 'string') meta.set(k, v);
    });
    stream.on('data', () => {});
    stream.once('error', reject);
    stream.once('close', () => {
      session.close();
      resolve({ status, code: meta.get('grpc-status') ?? '?', message: decodeURIComponent(meta.get('grpc-message') ?? ''), reason: reasonOfDetails(meta.get('grpc-status-details-bin')) });
    });
    stream.end(envelope(body));
  });
}

/** A raw HTTP/1.1 request (header bytes as given); resolves with the status line's code. */
export function rawHttp(port: number, request: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    socket.end(request);
  });
}
