// OpenTelemetry traces, only when an OTLP endpoint is configured. Off, this module is all there is:
// the interceptor is the next handler itself, the logger gets no mixin, and no OpenTelemetry module
// is loaded (tracing-otel.ts is imported dynamically).
import type { Interceptor } from '@connectrpc/connect';
import type { Config } from '../config.js';

interface Tracing {
  interceptor: Interceptor;
  logMixin: () => Record<string, string>;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** Starts the SDK when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set; call before the router is built. */
export async function startTracing(config: Config): Promise<void> {
  if (!config.otlpTracesUrl || active) return;
  const { startOtel } = await import('./tracing-otel.js');
  active = startOtel(config.otlpTracesUrl);
}

/** Flushes the spans still buffered (graceful shutdown). */
export async function stopTracing(): Promise<void> {
  const t = active;
  active = undefined;
  await t?.shutdown();
}

/** A span per RPC (outermost interceptor); with tracing off it adds nothing to the call. */
export const tracingInterceptor: Interceptor = (next) => (active ? active.interceptor(next) : next);

/** pino's `mixin`: the trace and span ids of the request on each of its log lines; undefined when off. */
export const traceLogMixin = (): (() => Record<string, string>) | undefined => active?.logMixin;
