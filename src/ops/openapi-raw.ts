// The plain HTTP endpoints beside the RPCs, which have no proto to read them from: the probes
// (server.ts), /metrics (ops/routes.ts), this document and its page (ops/docs.ts), and forward-auth
// (gateway/forward-auth.ts, with GATEWAY_POLICY). Each says what it really answers.
import { IDENTITY_HEADER_NAMES } from '../gateway/authorizer.js';
import { FORWARD_AUTH_PATH } from '../gateway/forward-auth.js';

interface RawOptions {
  metricsOnApiPort: boolean;
  forwardAuth?: boolean;
}

const probeBody = (status: string) => ({ 'application/json': { schema: { type: 'object', required: ['status'], properties: { status: { const: status } } }, example: { status } } });

const op = (operationId: string, summary: string, description: string, responses: Record<string, unknown>) => ({
  get: { operationId, tags: ['Operations'], summary, description, security: [], responses },
});

export function rawRoutes(opts: RawOptions): Record<string, Record<string, unknown>> {
  const routes: Record<string, Record<string, unknown>> = {
    '/healthz': op('Ops_Healthz', 'Liveness probe.', 'Answers 200 while the process serves requests; touches no dependency. Any method is answered.', {
      200: { description: 'Alive.', content: probeBody('ok') },
    }),
    '/readyz': op('Ops_Readyz', 'Readiness probe.', 'Runs `select 1` on the database: 200 when it answers, 503 when it does not (take the replica out of rotation).', {
      200: { description: 'Ready.', content: probeBody('ok') },
      503: { description: 'The database does not answer.', content: probeBody('unavailable') },
    }),
    '/openapi.json': op('Ops_OpenApi', 'This OpenAPI document.', 'Built once at start-up from the proto descriptors and comments the REST transcoder serves.', {
      200: { description: 'The document.', content: { 'application/json': { schema: { type: 'object' } } } },
    }),
    '/docs': op('Ops_Docs', 'The API reference page.', 'An interactive reference for this document (Swagger UI, served from this server; no third-party requests).', {
      200: { description: 'HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
    }),
  };
  if (opts.metricsOnApiPort) {
    routes['/metrics'] = op('Ops_Metrics', 'Prometheus metrics.', 'Prometheus text exposition. With METRICS_PORT set it is served on that port instead, and this path is not answered here.', {
      200: { description: 'Metrics.', content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } } },
    });
  }
  if (opts.forwardAuth) {
    const identity = Object.fromEntries(IDENTITY_HEADER_NAMES.map((h) => [h, { schema: { type: 'string' }, description: 'Identity of the caller; empty when it does not apply.' }]));
    routes[FORWARD_AUTH_PATH] = op(
      'Ops_ForwardAuth',
      'Forward-auth for a reverse proxy (GATEWAY_POLICY).',
      'nginx `auth_request`, Caddy `forward_auth`, Traefik `forwardAuth`: the original request comes as X-Forwarded-Method/-Uri/-Host/-Proto or X-Original-Method/-URI with its credential headers; only proxies in TRUSTED_PROXIES are answered. Any HTTP method is accepted.',
      {
        200: { description: 'Allowed: an empty body with the identity headers.', headers: identity },
        400: { description: 'The forwarded request is not described.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } },
        401: { description: 'No or a bad credential; the envelope is also in `X-Latchkey-Error`.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } },
        403: { description: 'Refused by the policy, or not asked by a trusted proxy.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } },
      },
    );
  }
  return routes;
}
