// Real clients for every protocol Latchkey serves, plus a small REST helper.
import type { DescService } from '@bufbuild/protobuf';
import { type Client, createClient, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';

export type Protocol = 'connect' | 'connect-binary' | 'grpc' | 'grpc-web';
export const PROTOCOLS: Protocol[] = ['connect', 'connect-binary', 'grpc', 'grpc-web'];

export function transport(baseUrl: string, protocol: Protocol): Transport {
  switch (protocol) {
    case 'connect':
      return createConnectTransport({ baseUrl, httpVersion: '1.1', useBinaryFormat: false });
    case 'connect-binary':
      return createConnectTransport({ baseUrl, httpVersion: '2', useBinaryFormat: true });
    case 'grpc':
      return createGrpcTransport({ baseUrl });
    case 'grpc-web':
      return createGrpcWebTransport({ baseUrl, httpVersion: '1.1' });
  }
}

export const client = <S extends DescService>(service: S, baseUrl: string, protocol: Protocol): Client<S> => createClient(service, transport(baseUrl, protocol));

export interface RestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with JSON in and out; `cookie` and headers are sent as given. */
export async function rest<T = any>(baseUrl: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; rawBody?: string } = {}): Promise<RestResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep text */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The latchkey_session cookie pair ("latchkey_session=…") from a response. */
export function sessionCookieOf(res: { headers: Headers }): string {
  const c = res.headers.getSetCookie().find((s) => s.startsWith('latchkey_session='));
  if (!c) throw new Error('no session cookie in response');
  return c.split(';')[0];
}
