// A closed-loop gRPC load generator (h2load is not installed here): N HTTP/2 sessions, one request
// in flight on each, for S seconds. Run as its own process by apikey-throughput.ts; prints JSON.
// Usage: node --import tsx bench/apikey-grpc-load.ts '{"url":…,"service":"Health"|"ApiKeyService","method":…,"request":{…},"headers":{…},"connections":50,"seconds":10}'
import { type DescMethodUnary, type DescService, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { Health } from '../gen/grpc/health/v1/health_pb.js';
import { ApiKeyService } from '../gen/latchkey/v1/api_key_pb.js';
import { AuthService } from '../gen/latchkey/v1/auth_pb.js';

interface Args {
  url: string;
  service: 'Health' | 'ApiKeyService' | 'AuthService';
  method: string;
  request: JsonValue;
  headers?: Record<string, string>;
  connections?: number;
  seconds?: number;
}

const args = JSON.parse(process.argv[2]) as Args;
const services: Record<Args['service'], DescService> = { Health, ApiKeyService, AuthService };
const service = services[args.service];
const method = service.methods.find((m) => m.localName === args.method || m.name === args.method) as DescMethodUnary;
if (method?.methodKind !== 'unary') throw new Error(`no unary method ${args.method}`);
const input = fromJson(method.input, args.request);
const connections = args.connections ?? 50;
const deadline = Date.now() + (args.seconds ?? 10) * 1000;
const latencies: number[] = [];
let errors = 0;

// One transport (one HTTP/2 session) per connection, one request in flight on each.
const started = Date.now();
await Promise.all(
  Array.from({ length: connections }, async () => {
    const transport = createGrpcTransport({ baseUrl: args.url });
    while (Date.now() < deadline) {
      const t0 = process.hrtime.bigint();
      try {
        await transport.unary(method, undefined, undefined, args.headers, input, undefined);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch {
        errors++;
      }
    }
  }),
);
const seconds = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0) * 100) / 100;
console.log(JSON.stringify({ rps: latencies.length / seconds, p50: pct(50), p99: pct(99), errors, requests: latencies.length }));
process.exit(0);
