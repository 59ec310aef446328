// The OpenTelemetry side of tracing.ts, loaded only when tracing is on: the Node SDK exporting
// OTLP/HTTP JSON, pg and ioredis instrumentations (database and Redis spans as children of the RPC
// span; the embedded database is reached through pg too), W3C traceparent from the request.
import { createRequire } from 'node:module';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { restPathKey } from '../transport/context.js';

const headerGetter = {
  keys: (h: Headers) => [...h.keys()],
  get: (h: Headers, key: string) => h.get(key) ?? undefined,
};

const codeName = (code: Code) => Code[code].replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase());

function protocolOf(contentType: string | null, rest: boolean): string {
  if (rest) return 'rest';
  if (contentType?.startsWith('application/grpc-web')) return 'grpc_web';
  if (contentType?.startsWith('application/grpc')) return 'grpc';
  return 'connect';
}

export function startOtel(tracesUrl: string) {
  const sdk = new NodeSDK({
    serviceName: 'latchkey',
    traceExporter: new OTLPTraceExporter({ url: tracesUrl }),
    // Traces only: metrics are Prometheus (/metrics), logs are pino's.
    metricReaders: [],
    logRecordProcessors: [],
    // Only spans inside an RPC: no pool housekeeping or background jobs as root traces.
    instrumentations: [new PgInstrumentation({ requireParentSpan: true }), new IORedisInstrumentation({ requireParentSpan: true })],
  });
  sdk.start();
  // The ORM and Redis client import these CommonJS packages from ESM, past the require hook the
  // instrumentations install; one require here lets them patch the (shared) module exports.
  const require = createRequire(import.meta.url);
  for (const name of ['pg', 'pg-pool', 'ioredis']) {
    try {
      require(name);
    } catch {
      /* not installed in this layout: nothing to patch */
    }
  }

  const tracer = trace.getTracer('latchkey');
  const interceptor: Interceptor = (next) => async (req) => {
    const parent = propagation.extract(context.active(), req.header, headerGetter);
    const restPath = req.contextValues.get(restPathKey);
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const attributes = {
      'rpc.system': 'connect_rpc',
      'rpc.service': req.service.typeName,
      'rpc.method': req.method.name,
      'latchkey.protocol': protocolOf(req.header.get('content-type'), restPath !== undefined),
      ...(restPath ? { 'http.route': restPath } : {}),
    };
    return tracer.startActiveSpan(rpc, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        const res = await next(req);
        span.setAttribute('latchkey.outcome', 'ok');
        return res;
      } catch (e) {
        const err = ConnectError.from(e);
        span.setAttribute('latchkey.outcome', codeName(err.code));
        span.setAttribute('rpc.connect_rpc.error_code', codeName(err.code));
        // Client errors are outcomes, not failures of the service.
        if (err.code === Code.Internal || err.code === Code.Unknown || err.code === Code.Unavailable || err.code === Code.DataLoss) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: err.rawMessage });
        }
        throw e;
      } finally {
        span.end();
      }
    });
  };

  const logMixin = (): Record<string, string> => {
    const ctx = trace.getActiveSpan()?.spanContext();
    return ctx ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {};
  };

  return { interceptor, logMixin, shutdown: () => sdk.shutdown() };
}
