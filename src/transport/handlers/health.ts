// grpc.health.v1.Health: SERVING while the process runs (readiness, with the database, is GET /readyz).
import type { ServiceImpl } from '@connectrpc/connect';
import { HealthCheckResponse_ServingStatus, type Health } from '../../../gen/grpc/health/v1/health_pb.js';

export const healthHandlers: Partial<ServiceImpl<typeof Health>> = {
  check() {
    return { status: HealthCheckResponse_ServingStatus.SERVING };
  },
};
