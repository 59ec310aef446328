// Connect unary JSON calls in their plainest form (POST, application/json, a declared length within
// the limit, no compression, no timeout): the method's own interceptors and implementation are
// called with the parsed message, as the REST transcoder does, and the answer is written in the
// Connect wire format. Everything else, and any body this path cannot parse, goes to connect-node's
// handler (with the bytes already read), which answers exactly as before: one pipeline either way.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { fromJson, toJsonString } from '@bufbuild/protobuf';
import { Code, ConnectError, type ContextValues, createHandlerContext, type Interceptor } from '@connectrpc/connect';
import { invokeUnaryImplementation, mergeNonProtocolHeaders } from '@connectrpc/connect/protocol';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { malformedBodyGate } from './interceptors/validation.js';
import type { UnaryImplSpec } from './rest/transcoder.js';

type Req = IncomingMessage | Http2ServerRequest;

export interface ConnectUnaryOptions {
  /** Unary implementations by request path ("/pkg.Service/Method"). */
  methods: Map<string, UnaryImplSpec>;
  interceptors: Interceptor[];
  readMaxBytes: number;
}

const JSON_TYPE = /^application\/json(?:;\s*charset=utf-?8)?$/i;

/** The body, when it is exactly `length` bytes (else undefined: Connect reports the mismatch). */
function readExactly(req: Req, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      chunks.push(c);
    });
    req.once('end', () => resolve(size === length ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)) : undefined));
    req.once('error', reject);
  });
}

export function createConnectUnary(o: ConnectUnaryOptions) {
  /**
   * Serves the call and returns true; or returns false when connect-node's handler must serve it,
   * with the body bytes when they were read here.
   */
  return async function connectUnary(req: Req, res: ServerResponse, path: string, contextValues: ContextValues, signal: AbortSignal): Promise<true | { body?: Uint8Array }> {
    const spec = o.methods.get(path);
    const h = req.headers;
    const length = Number(h['content-length']);
    if (
      !spec ||
      req.method !== 'POST' ||
      !JSON_TYPE.test(h['content-type'] ?? '') ||
      h['content-encoding'] !== undefined ||
      h['connect-timeout-ms'] !== undefined ||
      !(length >= 0 && length <= o.readMaxBytes) ||
      h['transfer-encoding'] !== undefined
    ) {
      return {};
    }
    const bytes = await readExactly(req, length);
    if (!bytes) return { body: new Uint8Array(0) }; // the client sent less or more than it declared: Connect says so
    let message;
    try {
      message = fromJson(spec.method.input, bytes.length ? JSON.parse(bytes.toString('utf8')) : {}, { ignoreUnknownFields: true });
    } catch {
      return { body: bytes }; // connect-node names the problem (and the field)
    }
    const ctx = createHandlerContext({
      service: spec.method.parent,
      method: spec.method,
      protocolName: 'connect',
      requestMethod: 'POST',
      url: req.url ?? path,
      requestHeader: headerPairs(req),
      requestSignal: signal,
      contextValues,
      responseHeader: { 'content-type': 'application/json' },
    });
    malformedBodyGate(ctx);
    let status = 200;
    let body: string | Uint8Array;
    try {
      const output = await invokeUnaryImplementation(spec, ctx, message, o.interceptors);
      body = toJsonString(spec.method.output, output, { alwaysEmitImplicit: true });
    } catch (e) {
      const error = e instanceof ConnectError ? e : new ConnectError('internal error', Code.Internal, undefined, undefined, e);
      ctx.abort(error); // as connect-node does: the gate gives protocol errors their reason
      status = codeToHttpStatus(error.code);
      ctx.responseHeader.set('content-type', 'application/json');
      if (!error.isWireError) mergeNonProtocolHeaders(ctx.responseHeader, error.metadata);
      body = errorToJsonBytes(error, {});
    }
    const headers: Record<string, string | string[]> = {};
    ctx.responseHeader.forEach((v, k) => {
      headers[k] = k === 'set-cookie' ? ctx.responseHeader.getSetCookie() : v;
    });
    ctx.responseTrailer.forEach((v, k) => {
      headers[`trailer-${k}`] = v;
    });
    headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    res.writeHead(status, headers);
    res.end(body);
    return true;
  };
}

/** The request's headers as pairs (HTTP/2 pseudo-headers left out), for the handler context to copy once. */
function headerPairs(req: Req): [string, string][] {
  const pairs: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].charCodeAt(0) !== 58 /* ':' */) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}
