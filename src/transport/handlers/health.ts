// grpc.health.v1.Health: SERVING while the process runs (readiness, with the database, is GET /readyz).
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { type Health, HealthCheckResponse_ServingStatus } from '../../../gen/grpc/health/v1/health_pb.js';

export const healthHandlers: ServiceImpl<typeof Health> = {
  check() {
    return { status: HealthCheckResponse_ServingStatus.SERVING };
  },
  // The status never changes while the process serves, and an open stream would hold shutdown:
  // the protocol lets a server refuse Watch, and clients then poll Check.
  // biome-ignore lint/correctness/useYield: a server-streaming method is an async generator; this one refuses at once
  async *watch() {
    throw new ConnectError('Watch is not supported: poll Check', Code.Unimplemented);
  },
};
