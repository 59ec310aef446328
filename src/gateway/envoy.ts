// envoy.service.auth.v3.Authorization/Check for Envoy's ext_authz filter (gRPC mode): the request's
// attributes go through the same Authorizer as forward-auth. Allowed: status OK, the identity headers
// set upstream (overwriting any the client sent), the Latchkey credential and spoofed identity
// headers removed. Denied: the gRPC code, and the HTTP status and envelope Envoy answers with.
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { type HeaderValueOption, HeaderValueOption_HeaderAppendAction } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { Authorization, CheckRequest } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { CheckResponseSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { Deps } from '../deps.js';
import { DomainError } from '../modules/common/errors.js';
import { requestInfoKey } from '../transport/context.js';
import { type Decision, IDENTITY_HEADER_NAMES } from './authorizer.js';
import { gatewayOf } from './gateway.js';
import { withoutSessionCookie } from './proxy.js';
import { refusalOf } from './refusal.js';

const set = (key: string, value: string): HeaderValueOption => ({ header: { key, value }, appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD }) as HeaderValueOption;

function headersOf(http: NonNullable<NonNullable<CheckRequest['attributes']>['request']>['http']): Map<string, string> {
  const out = new Map<string, string>(Object.entries(http?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  // encode_raw_headers: repeated headers, values possibly only in raw_value.
  for (const h of http?.headerMap?.headers ?? []) {
    const k = h.key.toLowerCase();
    const v = h.value || Buffer.from(h.rawValue).toString('latin1');
    out.set(k, out.has(k) ? `${out.get(k)}${k === 'cookie' ? '; ' : ', '}${v}` : v);
  }
  return out;
}

function allowed(d: Decision, headers: Map<string, string>) {
  const toAdd = Object.entries(d.headers).map(([k, v]) => set(k, v));
  const toRemove = IDENTITY_HEADER_NAMES.filter((h) => !(h in d.headers) && headers.has(h));
  for (const h of d.credentialHeaders) {
    if (h !== 'cookie') toRemove.push(h);
    else {
      const rest = withoutSessionCookie(headers.get('cookie') ?? '');
      if (rest) toAdd.push(set('cookie', rest));
      else toRemove.push('cookie');
    }
  }
  return create(CheckResponseSchema, { status: { code: 0 }, httpResponse: { case: 'okResponse', value: { headers: toAdd, headersToRemove: toRemove } } });
}

export function envoyAuthzHandlers(deps: Deps): ServiceImpl<typeof Authorization> {
  return {
    async check(req, ctx) {
      const info = ctx.values.get(requestInfoKey);
      const http = req.attributes?.request?.http;
      const headers = headersOf(http);
      try {
        const g = gatewayOf(deps);
        if (!g) throw new DomainError('UNAVAILABLE', 'No GATEWAY_POLICY is configured');
        if (!http?.method || !http.path) throw new DomainError('BAD_REQUEST', 'CheckRequest needs attributes.request.http with method and path');
        const decision = await g.authorizer.authorize({
          method: http.method,
          uri: http.path,
          header: (n) => headers.get(n),
          siteOrigin: http.host ? `${http.scheme || 'http'}://${http.host}` : undefined,
          ip: req.attributes?.source?.address?.address.case === 'socketAddress' ? req.attributes.source.address.address.value.address : undefined,
        });
        return allowed(decision, headers);
      } catch (e) {
        const r = refusalOf(e, info?.log ?? deps.log, info?.id ?? '');
        const out = [set('content-type', 'application/json'), ...r.headers.map(([k, v]) => set(k, v))];
        return create(CheckResponseSchema, {
          status: { code: r.grpcCode, message: r.message },
          httpResponse: { case: 'deniedResponse', value: { status: { code: r.status }, headers: out, body: r.body } },
        });
      }
    },
  };
}
