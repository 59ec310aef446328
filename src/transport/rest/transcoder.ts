// REST → Connect: match a route, build the request JSON, run the RPC's own Connect handler
// (so every interceptor applies), and wrap its answer in the envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import zlib from 'node:zlib';
import { type DescMethod, fromJson, type JsonObject, type JsonValue, toJson } from '@bufbuild/protobuf';
import { isFieldError } from '@bufbuild/protobuf/reflect';
import { Code, ConnectError, type ContextValues, createHandlerContext, type Interceptor, type MethodImplSpec } from '@connectrpc/connect';
import { invokeUnaryImplementation, mergeNonProtocolHeaders } from '@connectrpc/connect/protocol';
import { ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { DomainError } from '../../modules/common/errors.js';
import { restPathKey } from '../context.js';
import { buildRequestJson, jsonPathTo } from './request-json.js';
import type { RestRoute, RouteTable } from './route-table.js';
import { envelopeError, envelopeOk, httpErrorFor } from './status.js';

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse;

// Headers that describe the REST exchange itself, not the RPC.
const HOP_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'accept-encoding', 'transfer-encoding', 'connection', 'host', 'keep-alive', 'upgrade', 'te']);

class BodyTooLarge extends Error {}

// Body compressions REST accepts; each inflates in a stream so a bomb stops at the limit.
const INFLATE: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

async function collect(source: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The request body, decompressed, never more than `limit` bytes before or after inflating. */
async function readBody(req: NodeRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyTooLarge();
  const encoding = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding === 'identity' || encoding === '') return collect(req as AsyncIterable<Buffer>, limit);
  const inflate = INFLATE[encoding]?.();
  if (!inflate) throw new DomainError('BAD_REQUEST', `Unsupported Content-Encoding "${encoding.slice(0, 40)}": use identity, gzip, deflate or br`);
  let compressed = 0;
  const counted = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  // Feed the inflater by hand so reading stops (and the inflater is destroyed) at the first excess byte.
  const pump = (async () => {
    for (let r = await counted.next(); !r.done; r = await counted.next()) {
      compressed += r.value.length;
      if (compressed > limit) throw new BodyTooLarge();
      if (inflate.destroyed) return;
      if (!inflate.write(r.value)) await new Promise((ok) => (inflate.once('drain', ok), inflate.once('close', ok)));
    }
    inflate.end();
  })();
  pump.catch((e) => inflate.destroy(e));
  try {
    return await collect(inflate, limit);
  } catch (e) {
    if (e instanceof BodyTooLarge) throw e;
    const cause =
      (await pump.then(
        () => undefined,
        (x) => x,
      )) ?? e;
    if (cause instanceof BodyTooLarge) throw cause;
    throw new DomainError('BAD_REQUEST', `Request body is not valid ${encoding} data`);
  } finally {
    inflate.destroy();
  }
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Path and query of a request target; a malformed percent-escape or a control character is the client's error. */
function parseTarget(target: string): { pathname: string; query: URLSearchParams } {
  const q = target.indexOf('?');
  let pathname = q < 0 ? target : target.slice(0, q);
  pathname = /^https?:\/\//i.test(pathname) ? pathname.replace(/^https?:\/\/[^/]*/i, '') || '/' : pathname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    throw new DomainError('BAD_REQUEST', 'Malformed percent-encoding in the URL path');
  }
  if (CONTROL.test(decoded)) throw new DomainError('BAD_REQUEST', 'Control characters are not allowed in the URL path');
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  for (const [k, v] of query) {
    if (CONTROL.test(k) || CONTROL.test(v) || k.includes('\ufffd') || v.includes('\ufffd')) {
      throw new DomainError('BAD_REQUEST', `Query parameter "${k.replace(/[^\w.-]/g, '?').slice(0, 64)}" has control characters or malformed percent-encoding`);
    }
  }
  return { pathname, query };
}

function send(res: NodeResponse, status: number, payload: unknown, headers: [string, string][] = []): void {
  const body = JSON.stringify(payload);
  for (const [k, v] of headers) res.appendHeader(k, v);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The JSON path of the field a protobuf-es JSON error names (its cause is a FieldError). */
function fieldOfJsonError(route: RestRoute, e: unknown): string | undefined {
  const cause = e instanceof Error ? e.cause : undefined;
  if (!isFieldError(cause)) return undefined;
  return jsonPathTo(route.method.input, cause.field());
}

export type UnaryImplSpec = Extract<MethodImplSpec, { kind: 'unary' }>;

export interface TranscoderOptions {
  routes: RouteTable;
  /** Each REST-bound method's implementation, and the interceptors every protocol runs (the router's). */
  methods: Map<DescMethod, UnaryImplSpec>;
  interceptors: Interceptor[];
  maxBodyBytes: number;
  /**
   * A request no REST route answers with its method (its target already checked): the gateway and
   * the console may take it (true) before the 404 / 405. `allow` lists the methods that path has.
   */
  unrouted?: (req: NodeRequest, res: NodeResponse, pathname: string, allow: string[] | undefined, contextValues: ContextValues) => Promise<boolean> | boolean;
}

export function createTranscoder(opts: TranscoderOptions) {
  return async function transcode(req: NodeRequest, res: NodeResponse, contextValues: ContextValues, signal: AbortSignal): Promise<void> {
    let target;
    try {
      target = parseTarget(req.url ?? '/');
    } catch (e) {
      return send(res, 400, envelopeError(400, 'BAD_REQUEST', (e as Error).message));
    }
    const { pathname, query } = target;
    const found = opts.routes.find(req.method ?? 'GET', pathname);
    if ((!found || 'allow' in found) && (await opts.unrouted?.(req, res, pathname, found?.allow, contextValues))) return;
    if (!found) return send(res, 404, envelopeError(404, 'NOT_FOUND', `No route for ${req.method} ${pathname.slice(0, 200)}`));
    if ('allow' in found) {
      return send(res, 405, envelopeError(405, 'BAD_REQUEST', `Method ${req.method} not allowed on ${pathname.slice(0, 200)}`, { reason: 'METHOD_NOT_ALLOWED' }), [['allow', found.allow.join(', ')]]);
    }
    const { route, vars } = found;
    let message;
    try {
      let body: JsonValue | undefined;
      if (route.body) {
        const raw = await readBody(req, opts.maxBodyBytes);
        if (raw.length) {
          try {
            body = JSON.parse(raw.toString('utf8'));
          } catch {
            throw new DomainError('MALFORMED_BODY', 'Malformed JSON in request body');
          }
        }
      }
      const merged = buildRequestJson(route.method.input, route.body, body, vars, query);
      try {
        // Unknown fields dropped, types checked once here.
        message = fromJson(route.method.input, merged, { ignoreUnknownFields: true });
      } catch (e) {
        const field = fieldOfJsonError(route, e);
        if (field) throw new DomainError('VALIDATION_FAILED', `${field}: has the wrong type or format`, { field });
        throw new DomainError('MALFORMED_BODY', 'Request does not match the expected shape');
      }
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        return send(res, 413, envelopeError(413, 'BAD_REQUEST', `Request body exceeds ${opts.maxBodyBytes} bytes`, { reason: 'BODY_TOO_LARGE' }));
      }
      if (e instanceof DomainError) {
        const { status, code } = httpErrorFor(Code.InvalidArgument, e.reason);
        return send(res, status, envelopeError(status, code, e.message, { ...(e.meta.field ? { field: e.meta.field } : {}), reason: e.reason }));
      }
      if (e instanceof URIError) return send(res, 400, envelopeError(400, 'BAD_REQUEST', 'Malformed URL encoding'));
      throw e;
    }

    const spec = opts.methods.get(route.method)!;
    contextValues.set(restPathKey, route.template.source);
    // The request's own headers, less those describing the REST exchange, straight from the parser's list.
    const header: [string, string][] = [['content-type', 'application/json']];
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i].toLowerCase();
      if (k.charCodeAt(0) !== 58 /* ':' */ && !HOP_HEADERS.has(k)) header.push([k, raw[i + 1]]);
    }
    // The method's own interceptors and implementation, called with the parsed message: the same
    // pipeline as gRPC and Connect (authentication, tenancy, validation, errors), without encoding the
    // request as Connect JSON and decoding the answer again.
    const ctx = createHandlerContext({
      service: route.method.parent,
      method: route.method,
      protocolName: 'rest',
      requestMethod: req.method ?? 'GET',
      url: req.url ?? '/',
      requestHeader: header,
      requestSignal: signal,
      contextValues,
    });
    let output;
    let error: ConnectError | undefined;
    try {
      output = await invokeUnaryImplementation(spec, ctx, message, opts.interceptors);
    } catch (e) {
      error = e instanceof ConnectError ? e : new ConnectError('internal error', Code.Internal, undefined, undefined, e);
      mergeNonProtocolHeaders(ctx.responseHeader, error.metadata);
    }
    const passHeaders: [string, string][] = [];
    ctx.responseHeader.forEach((v, k) => {
      if (HOP_HEADERS.has(k) || k.startsWith('connect-') || k === 'accept-encoding') return;
      if (k === 'set-cookie') for (const c of ctx.responseHeader.getSetCookie()) passHeaders.push([k, c]);
      else passHeaders.push([k, v]);
    });
    if (!error) {
      const out = toJson(route.method.output, output!, { alwaysEmitImplicit: true }) as JsonObject;
      const data = route.responseField ? (out[route.responseField] ?? {}) : out;
      return send(res, 200, route.raw ? data : envelopeOk(data, `${route.method.name} succeeded`), passHeaders);
    }
    const errorInfo = error.findDetails(ErrorInfoSchema)[0];
    const mapped = httpErrorFor(error.code, errorInfo?.reason);
    const extra = { ...(errorInfo?.metadata.field ? { field: errorInfo.metadata.field } : {}), reason: errorInfo?.reason };
    return send(res, mapped.status, envelopeError(mapped.status, mapped.code, error.rawMessage || 'Request failed', extra), passHeaders);
  };
}
