// grpc.health.v1.Health: SERVING while the process runs (readiness, with the database, is GET /readyz).
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { HealthCheckResponse_ServingStatus, type Health } from '../../../gen/grpc/health/v1/health_pb.js';

export const healthHandlers: ServiceImpl<typeof Health> = {
  check() {
    return { status: HealthCheckResponse_ServingStatus.SERVING };
  },
  // The status never changes while the process serves, and an open stream would hold shutdown:
  // the protocol lets a server refuse Watch, and clients then poll Check.
  async *watch() {
    throw new ConnectError('Watch is not supported: poll Check', Code.Unimplemented);
  },
};
