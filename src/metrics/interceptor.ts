// Outermost interceptor: times every RPC and counts limit rejections by their ErrorInfo reason.

import type { DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { restPathKey } from '../transport/context.js';
import { rejections, requestDuration } from './registry.js';
import type { Series } from './request-histogram.js';

const PROTOCOLS = ['grpc', 'grpc_web', 'connect', 'rest'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const CODE_NAMES = new Map<number, string>(
  Object.entries(Code)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v as number, k.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase())]),
);
CODE_NAMES.set(0, 'ok');

// method → protocol → code → child: created on first use, then only looked up.
const children = new Map<DescMethod, Map<string, Series>>();
function child(method: DescMethod, protocol: Protocol, code: number): Series {
  let byKey = children.get(method);
  if (!byKey) children.set(method, (byKey = new Map()));
  const key = protocol + code;
  let c = byKey.get(key);
  if (!c) byKey.set(key, (c = requestDuration.open({ protocol, method: `${method.parent.typeName}/${method.name}`, code: CODE_NAMES.get(code) ?? String(code) })));
  return c;
}

function protocolOf(contentType: string | null, rest: boolean): Protocol {
  if (rest) return 'rest';
  if (contentType?.startsWith('application/grpc-web')) return 'grpc_web';
  if (contentType?.startsWith('application/grpc')) return 'grpc';
  return 'connect';
}

export const metricsInterceptor: Interceptor = (next) => async (req) => {
  const start = performance.now();
  const protocol = protocolOf(req.header.get('content-type'), req.contextValues.get(restPathKey) !== undefined);
  try {
    const res = await next(req);
    requestDuration.observe(child(req.method, protocol, 0), (performance.now() - start) / 1000);
    return res;
  } catch (e) {
    const err = ConnectError.from(e);
    requestDuration.observe(child(req.method, protocol, err.code), (performance.now() - start) / 1000);
    if (err.code === Code.ResourceExhausted) rejections.inc({ reason: err.findDetails(ErrorInfoSchema)[0]?.reason || 'UNKNOWN' });
    throw e;
  }
};
