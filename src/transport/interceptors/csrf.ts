// CSRF: a browser sends the session cookie with any request, even one a foreign page makes. So a
// state-changing RPC authenticated by the cookie must come from Latchkey's own origin (PUBLIC_URL)
// or a CORS_ORIGINS one. Bearer and API-key credentials are never sent implicitly: not checked.
import { type DescMethod, getOption, hasOption } from '@bufbuild/protobuf';
import type { Interceptor } from '@connectrpc/connect';
import { http } from '../../../gen/google/api/annotations_pb.js';
import type { Config } from '../../config.js';
import { forbidden } from '../../modules/common/errors.js';
import { principalKey } from '../context.js';

/** Reads are the RPCs whose REST binding is GET; everything else changes state. */
const reads = new WeakMap<DescMethod, boolean>();
function isRead(method: DescMethod): boolean {
  let r = reads.get(method);
  if (r === undefined) {
    r = hasOption(method, http) && getOption(method, http).pattern.case === 'get';
    reads.set(method, r);
  }
  return r;
}

function originOf(url: string): string {
  return new URL(url).origin;
}

export const csrfInterceptor =
  (config: Pick<Config, 'publicUrl' | 'corsOrigins'>): Interceptor =>
  (next) =>
  async (req) => {
    if (req.contextValues.get(principalKey)?.kind !== 'session' || isRead(req.method)) return next(req);
    const origin = req.header.get('origin');
    // Fetch metadata: set by the browser itself, so a page cannot forge "same-origin".
    const site = req.header.get('sec-fetch-site');
    const trusted = origin !== null && origin !== 'null' && (origin === originOf(config.publicUrl) || config.corsOrigins.includes(origin));
    if (trusted || site === 'same-origin') return next(req);
    // No Origin and no cross-site fetch metadata: not a browser (curl -b cookies.txt).
    if (origin === null && (site === null || site === 'none')) return next(req);
    throw forbidden("Cross-origin request refused: a session cookie is only accepted from this site's own pages", 'CSRF_REJECTED');
  };
