// Sends one fuzz request on its protocol's real wire (HTTP/1.1 keep-alive, h2c, or raw bytes)
// and judges the answer: a 5xx (or its gRPC equivalent), a leaked stack trace or internal path,
// or an answer slower than the limit is a finding.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { RequestSpec } from './mutations.js';

export const LIMIT_MS = 5_000;

export interface Outcome {
  status: number;
  grpcStatus?: number;
  body: string;
  ms: number;
  hung?: boolean;
  /** Why the client saw no answer (a socket error code). */
  error?: string;
  /** The client library refused to send it (e.g. a header byte it will not write). */
  unsendable?: boolean;
}

// gRPC codes that stand for a server fault: Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable, DataLoss.
const SERVER_FAULT_CODES = new Set([2, 4, 12, 13, 14, 15]);
const LEAK = [/\/src\//, /node_modules/, /\n\s+at \S/, /\bat [\w.$<>]+ \((?:file:|\/)/, /\.ts:\d+:\d+/];

export function finding(o: Outcome): string | undefined {
  if (o.unsendable) return undefined;
  if (o.hung) return `no answer within ${LIMIT_MS} ms`;
  if (o.status === 0) return `connection closed without an answer${o.error ? ` (${o.error})` : ''}`;
  if (o.status >= 500) return `HTTP ${o.status}`;
  if (o.grpcStatus !== undefined && SERVER_FAULT_CODES.has(o.grpcStatus)) return `grpc-status ${o.grpcStatus}`;
  if (o.ms > LIMIT_MS) return `answered after ${o.ms} ms`;
  const leak = LEAK.find((re) => re.test(o.body));
  if (leak) return `body leaks ${leak}`;
  return undefined;
}

/** grpc-status from the headers (trailers-only) or from a gRPC-web trailer frame in the body. */
function grpcWebStatus(headers: http.IncomingHttpHeaders, body: Buffer): number | undefined {
  if (headers['grpc-status'] !== undefined) return Number(headers['grpc-status']);
  let i = 0;
  while (i + 5 <= body.length) {
    const len = body.readUInt32BE(i + 1);
    if (body[i] & 0x80) return Number(/grpc-status:\s*(\d+)/i.exec(body.subarray(i + 5, i + 5 + len).toString('latin1'))?.[1]);
    i += 5 + len;
  }
  return undefined;
}

export class Sender {
  private readonly agent: http.Agent;
  private session?: http2.ClientHttp2Session;

  constructor(
    private readonly url: string,
    concurrency: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  close(): void {
    this.agent.destroy();
    this.session?.destroy();
  }

  send(spec: RequestSpec): Promise<Outcome> {
    if (spec.raw) return this.raw(spec.raw);
    if (spec.protocol === 'grpc' || spec.protocol === 'connect-binary') return this.h2(spec);
    return this.h1(spec);
  }

  private h1(spec: RequestSpec): Promise<Outcome> {
    const started = performance.now();
    return new Promise((resolve) => {
      let req: http.ClientRequest;
      const timer = setTimeout(() => {
        resolve({ status: 0, body: '', ms: LIMIT_MS, hung: true });
        req?.destroy();
      }, LIMIT_MS + 500);
      const done = (o: Omit<Outcome, 'ms'>) => {
        clearTimeout(timer);
        resolve({ ...o, ms: Math.round(performance.now() - started) });
      };
      try {
        const u = new URL(this.url);
        req = http.request({ host: u.hostname, port: u.port, method: spec.method, path: spec.path, headers: spec.headers, agent: this.agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            done({ status: res.statusCode ?? 0, body: body.toString('latin1'), grpcStatus: spec.protocol === 'grpc-web' ? grpcWebStatus(res.headers, body) : undefined });
          });
          res.on('error', () => done({ status: res.statusCode ?? 0, body: '' }));
        });
      } catch {
        clearTimeout(timer);
        return resolve({ status: 0, body: '', ms: 0, unsendable: true });
      }
      // The server may answer and close before a big body is written: that is an answer, not a fault.
      req.on('error', (e) =>
        done({
          status: 0,
          body: '',
          error: String((e as NodeJS.ErrnoException).code ?? e.message),
          unsendable: /ERR_INVALID_CHAR|ERR_HTTP_INVALID_HEADER_VALUE/.test(String((e as NodeJS.ErrnoException).code)),
        }),
      );
      req.end(spec.body);
    });
  }

  private h2Session(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect(this.url, { maxSessionMemory: 256 });
      this.session.on('error', () => {});
    }
    return this.session;
  }

  private h2(spec: RequestSpec): Promise<Outcome> {
    const started = performance.now();
    return new Promise((resolve) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.h2Session().request({ ':method': spec.method, ':path': spec.path, ...spec.headers });
      } catch {
        return resolve({ status: 0, body: '', ms: 0, unsendable: true });
      }
      let status = 0;
      let grpcStatus: number | undefined;
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        resolve({ status: 0, body: '', ms: LIMIT_MS, hung: true });
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, LIMIT_MS + 500);
      stream.on('response', (h) => {
        status = Number(h[':status']);
        if (h['grpc-status'] !== undefined) grpcStatus = Number(h['grpc-status']);
      });
      stream.on('trailers', (t) => t['grpc-status'] !== undefined && (grpcStatus = Number(t['grpc-status'])));
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('close', () => {
        clearTimeout(timer);
        // A stream reset by the server after a complete answer (NO_ERROR) is fine; a reset without one is judged by status 0.
        resolve({
          status,
          grpcStatus: spec.protocol === 'grpc' ? grpcStatus : undefined,
          body: Buffer.concat(chunks).toString('latin1'),
          ms: Math.round(performance.now() - started),
          unsendable: status === 0 && stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM,
        });
      });
      stream.on('error', () => {});
      stream.end(spec.body);
    });
  }

  private raw(bytes: Buffer): Promise<Outcome> {
    const started = performance.now();
    const u = new URL(this.url);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      // Written, not half-closed: node:http ends a connection whose client half-closes before it answers.
      const c = net.connect(Number(u.port), u.hostname, () => c.write(bytes));
      const timer = setTimeout(() => (c.destroy(), resolve({ status: 0, body: '', ms: LIMIT_MS, hung: true })), LIMIT_MS + 500);
      c.on('data', (d) => chunks.push(d));
      c.on('error', () => {});
      c.on('close', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('latin1');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n'), ms: Math.round(performance.now() - started) });
      });
    });
  }
}
