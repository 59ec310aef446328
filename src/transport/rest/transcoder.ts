// REST → Connect: match a route, build the request JSON, run the RPC's own Connect handler
// (so every interceptor applies), and wrap its answer in the envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { fromBinary, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { isFieldError } from '@bufbuild/protobuf/reflect';
import { Code, type ContextValues } from '@connectrpc/connect';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import { codeFromString } from '@connectrpc/connect/protocol-connect';
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

async function readBody(req: NodeRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readAll(body: AsyncIterable<Uint8Array> | undefined): Promise<string> {
  if (!body) return '';
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
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

export interface TranscoderOptions {
  routes: RouteTable;
  handlers: Map<string, UniversalHandler>;
  maxBodyBytes: number;
}

export function createTranscoder(opts: TranscoderOptions) {
  return async function transcode(req: NodeRequest, res: NodeResponse, contextValues: ContextValues, signal: AbortSignal): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const found = opts.routes.find(req.method ?? 'GET', url.pathname);
    if (!found) return send(res, 404, envelopeError(404, 'NOT_FOUND', `No route for ${req.method} ${url.pathname}`));
    if ('allow' in found) {
      return send(res, 405, envelopeError(405, 'BAD_REQUEST', `Method ${req.method} not allowed on ${url.pathname}`, { reason: 'METHOD_NOT_ALLOWED' }), [['allow', found.allow.join(', ')]]);
    }
    const { route, vars } = found;
    let json;
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
      const merged = buildRequestJson(route.method.input, route.body, body, vars, url.searchParams);
      try {
        // Normalized JSON of the parsed message: unknown fields dropped, types checked once here.
        json = toJson(route.method.input, fromJson(route.method.input, merged, { ignoreUnknownFields: true }));
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

    const handler = opts.handlers.get(`/${route.method.parent.typeName}/${route.method.name}`)!;
    contextValues.set(restPathKey, route.template.source);
    const header = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (k.startsWith(':') || HOP_HEADERS.has(k) || v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) header.append(k, one);
    }
    header.set('content-type', 'application/json');
    const uRes = await handler({
      httpVersion: req.httpVersion,
      url: `http://localhost/${route.method.parent.typeName}/${route.method.name}`,
      method: 'POST',
      header,
      body: json,
      signal,
      contextValues,
    });
    const passHeaders: [string, string][] = [];
    uRes.header?.forEach((v, k) => {
      if (HOP_HEADERS.has(k) || k.startsWith('connect-') || k === 'accept-encoding') return;
      if (k === 'set-cookie') for (const c of uRes.header!.getSetCookie()) passHeaders.push([k, c]);
      else passHeaders.push([k, v]);
    });
    const text = await readAll(uRes.body);
    if (uRes.status === 200) {
      const out = text ? JSON.parse(text) : {};
      const field = route.responseBody ? route.method.output.fields.find((f) => f.name === route.responseBody) : undefined;
      const data = field ? (out[field.jsonName] ?? {}) : out;
      return send(res, 200, route.raw ? data : envelopeOk(data, `${route.method.name} succeeded`), passHeaders);
    }
    let err: { code?: string; message?: string; details?: { type: string; value: string }[] } = {};
    try {
      err = JSON.parse(text);
    } catch {
      /* a non-JSON error body: keep the defaults below */
    }
    const code = (err.code && codeFromString(err.code)) || Code.Unknown;
    const info = err.details?.find((d) => d.type === 'google.rpc.ErrorInfo');
    const errorInfo = info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, 'base64')) : undefined;
    const mapped = httpErrorFor(code, errorInfo?.reason);
    const extra = { ...(errorInfo?.metadata.field ? { field: errorInfo.metadata.field } : {}), reason: errorInfo?.reason };
    return send(res, mapped.status, envelopeError(mapped.status, mapped.code, err.message ?? 'Request failed', extra), passHeaders);
  };
}
