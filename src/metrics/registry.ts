// Every Prometheus metric Latchkey exports, on one registry per process (replicas scrape apart).
// Label values are a small fixed set, so children are created once and reused on the hot path.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { RequestHistogram } from './request-histogram.js';

export const registry = new Registry();
// Event-loop lag, heap, GC, CPU and file descriptors come with prom-client's defaults.
collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });

export const requestDuration = new RequestHistogram(
  'latchkey_rpc_duration_seconds',
  'RPCs by protocol (grpc, grpc_web, connect, rest), method and gRPC status code.',
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registry,
);

export const credentialVerifications = new Counter({
  name: 'latchkey_credential_verifications_total',
  help: 'Credentials verified, by kind (api_key, jwt, session, unknown) and outcome (ok, rejected).',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

export const cacheLookups = new Counter({
  name: 'latchkey_cache_lookups_total',
  help: 'Hot-path cache lookups, by cache and result (hit, miss).',
  labelNames: ['cache', 'result'] as const,
  registers: [registry],
});

export const rejections = new Counter({
  name: 'latchkey_rejections_total',
  help: 'Requests refused for a limit (RESOURCE_EXHAUSTED), by reason (RATE_LIMITED, CREDITS_EXHAUSTED, SERVER_BUSY, …).',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const passwordQueueDepth = new Gauge({
  name: 'latchkey_password_hash_queue_depth',
  help: 'Password hashes waiting for a scrypt slot.',
  registers: [registry],
});

export const passwordQueueWait = new Histogram({
  name: 'latchkey_password_hash_queue_wait_seconds',
  help: 'Time a password hash waited for a scrypt slot.',
  buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const dbQueryDuration = new Histogram({
  name: 'latchkey_db_query_duration_seconds',
  help: 'Database statements by verb (select, insert, update, delete, other) and outcome.',
  labelNames: ['verb', 'outcome'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const buildInfo = new Gauge({
  name: 'latchkey_build_info',
  help: 'Always 1; the labels say what runs.',
  labelNames: ['version', 'node'] as const,
  registers: [registry],
});
