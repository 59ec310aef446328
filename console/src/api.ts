// The console talks to Latchkey only through the generated clients, over gRPC-web on this origin,
// with the HttpOnly session cookie (never a token in storage). A call that acts in an organization
// uses that organization's transport, which adds the x-organization-id header.
import { Code, ConnectError, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';

const withCookie: typeof fetch = (input, init) => globalThis.fetch(input, { ...init, credentials: 'include' });

function make(interceptors: Interceptor[] = []): Transport {
  return createGrpcWebTransport({ baseUrl: window.location.origin, fetch: withCookie, interceptors });
}

export const transport = make();

const tenants = new Map<string, Transport>();
export function tenantTransport(organizationId: string): Transport {
  let t = tenants.get(organizationId);
  if (!t) {
    t = make([(next) => (req) => (req.header.set('x-organization-id', organizationId), next(req))]);
    tenants.set(organizationId, t);
  }
  return t;
}

export const isUnauthenticated = (e: unknown) => !!e && ConnectError.from(e).code === Code.Unauthenticated;

/** The request field an error names (VALIDATION_ERROR carries it in ErrorInfo), normalised. */
export function fieldOf(e: unknown): string | undefined {
  const f = ConnectError.from(e).findDetails(ErrorInfoSchema)[0]?.metadata.field;
  return f ? norm(f) : undefined;
}

export const norm = (field: string) => field.replace(/[_.]/g, '').toLowerCase();

/** The message for a person: without the "field: " prefix when the field is shown next to it. */
export function messageOf(e: unknown): string {
  const err = ConnectError.from(e);
  if (err.code === Code.Unavailable || err.code === Code.Unknown) return err.rawMessage || 'Latchkey could not be reached. Check your connection and try again.';
  return err.rawMessage;
}

export function fieldMessage(e: unknown): string {
  return messageOf(e).replace(/^[\w.]+: /, '');
}

/** The orgid cookie (seed 000): readable by scripts on this site, so tooling can pick it up. */
export function readOrgCookie(): string | undefined {
  const m = /(?:^|;\s*)orgid=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : undefined;
}

export function writeOrgCookie(id: string): void {
  const secure = window.location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `orgid=${encodeURIComponent(id)}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
}

export function clearOrgCookie(): void {
  document.cookie = 'orgid=; Path=/; Max-Age=0; SameSite=Lax';
}
