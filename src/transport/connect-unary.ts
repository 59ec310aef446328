// Connect unary JSON calls in their plainest form (POST, application/json, a declared length within
// the limit, no compression, no timeout): the method's own interceptors and implementation are
// called with the parsed message, as the REST transcoder does, and the answer is written in the
// Connect wire format. Everything else, and any body this path cannot parse, goes to connect-node's
// handler (with the bytes already read), which answers exactly as before: one pipeline either way.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { fromJson, toJsonString } from '@bufbuild/protobuf';
import { Code, ConnectError, type ContextValues, createHandlerContext, type Interceptor } from '@connectrpc/connect';
import { invokeUnaryImplementation, mergeNonProtocolHeaders, type UniversalServerRequest } from '@connectrpc/connect/protocol';
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

async function readExactly(req: Req, length: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    chunks.push(c);
  }
  return size === length ? Buffer.concat(chunks, size) : undefined;
}

export function createConnectUnary(o: ConnectUnaryOptions) {
  /**
   * Serves the call and returns true, or returns the request connect-node's handler must serve
   * (its body the bytes read here, when any were).
   */
  return async function connectUnary(req: Req, res: ServerResponse, path: string, uReq: UniversalServerRequest): Promise<true | UniversalServerRequest> {
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
      return uReq;
    }
    const bytes = await readExactly(req, length);
    if (!bytes) return { ...uReq, body: single(Buffer.alloc(0)) }; // the client sent less or more than it declared: Connect says so
    let message;
    try {
      message = fromJson(spec.method.input, bytes.length ? JSON.parse(bytes.toString('utf8')) : {}, { ignoreUnknownFields: true });
    } catch {
      return { ...uReq, body: single(bytes) }; // connect-node names the problem (and the field)
    }
    const ctx = createHandlerContext({
      service: spec.method.parent,
      method: spec.method,
      protocolName: 'connect',
      requestMethod: 'POST',
      url: uReq.url,
      requestHeader: uReq.header,
      requestSignal: uReq.signal,
      contextValues: uReq.contextValues as ContextValues,
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

async function* single(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
