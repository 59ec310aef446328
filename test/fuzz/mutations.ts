// The mutation families of the hostile-input campaign (issue 10), each turning a target into one
// request on one protocol. Every family draws from a seeded generator, so a run is repeatable.
import zlib from 'node:zlib';
import type { DescMethod, JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { RestRoute } from '../../src/transport/rest/route-table.js';
import { type Fixture, messagePaths, numberPaths, sampleBinary, sampleMessage, stringPaths } from './targets.js';

export type Protocol = 'rest' | 'connect-json' | 'connect-binary' | 'grpc' | 'grpc-web';
export const ALL_PROTOCOLS: Protocol[] = ['rest', 'connect-json', 'connect-binary', 'grpc', 'grpc-web'];
const BINARY: Protocol[] = ['connect-binary', 'grpc', 'grpc-web'];
const JSON_PROTOCOLS: Protocol[] = ['rest', 'connect-json'];

export interface RequestSpec {
  family: string;
  protocol: Protocol;
  target: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Bytes sent as-is on a fresh HTTP/1.1 connection (for what no client library will send). */
  raw?: Buffer;
}

export interface Rng {
  next(): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

export interface Context {
  r: Rng;
  fx: Fixture;
  methods: DescMethod[];
  routes: readonly RestRoute[];
}

const rpcPath = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;
const name = (m: DescMethod) => `${m.parent.name}.${m.name}`;

function envelope(payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The same message bytes framed as each binary protocol wants them. */
function binaryRequest(family: string, protocol: Protocol, m: DescMethod, bytes: Buffer, headers: Record<string, string> = {}, flags = 0): RequestSpec {
  const base = { family, protocol, target: name(m), method: 'POST', path: rpcPath(m) };
  if (protocol === 'connect-binary') return { ...base, headers: { 'content-type': 'application/proto', ...headers }, body: bytes };
  if (protocol === 'grpc') return { ...base, headers: { 'content-type': 'application/grpc', te: 'trailers', ...headers }, body: envelope(bytes, flags) };
  return { ...base, headers: { 'content-type': 'application/grpc-web+proto', ...headers }, body: envelope(bytes, flags) };
}

function setPath(obj: JsonObject, path: string[], value: JsonValue): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) o[k] = {};
    o = o[k] as JsonObject;
  }
  const last = path[path.length - 1];
  o[last] = Array.isArray(o[last]) ? [value] : value;
}

/** A JSON request (already text, so hostile shapes survive) on REST or Connect JSON. */
function jsonRequest(ctx: Context, family: string, protocol: Protocol, m: DescMethod, text: string, json: JsonObject): RequestSpec {
  if (protocol === 'connect-json') return { family, protocol, target: name(m), method: 'POST', path: rpcPath(m), headers: { 'content-type': 'application/json' }, body: Buffer.from(text) };
  const routes = ctx.routes.filter((r) => r.method === m);
  const route = routes.length ? ctx.r.pick(routes) : ctx.r.pick(ctx.routes);
  return restRequest(family, route, text, json);
}

/** Path variables and query parameters from the JSON; the text becomes the body where the rule has one. */
function restRequest(family: string, route: RestRoute, text: string, json: JsonObject): RequestSpec {
  let path = route.template.source.replace(/\{([\w.]+)(=[^}]*)?\}/g, (_m, v: string) => {
    const jsonName = v.replace(/_(\w)/g, (_x, c: string) => c.toUpperCase());
    const value = json[jsonName] ?? 'fuzz';
    return escapeWtf8(typeof value === 'string' ? value : JSON.stringify(value));
  });
  if (!route.body) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(json)) if (v !== null && typeof v !== 'object') q.append(k, String(v));
    const qs = q.toString();
    if (qs) path += `?${qs}`;
  }
  return {
    family,
    protocol: 'rest',
    target: `${route.httpMethod} ${route.template.source}`,
    method: route.httpMethod,
    path,
    headers: route.body ? { 'content-type': 'application/json' } : {},
    body: route.body ? Buffer.from(text) : undefined,
  };
}

/** Percent-encoding that also writes lone surrogates (as their 3-byte WTF-8 form), which encodeURIComponent refuses. */
function escapeWtf8(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value]
      .map((ch) => {
        const c = ch.charCodeAt(0);
        if (c < 0xd800 || c > 0xdfff || ch.length > 1) return encodeURIComponent(ch);
        return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      })
      .join('');
  }
}

type Family = (ctx: Context) => RequestSpec;

const pickBinaryProtocol = (ctx: Context) => ctx.r.pick(BINARY);
const pickJsonProtocol = (ctx: Context) => ctx.r.pick(JSON_PROTOCOLS);

function perString(ctx: Context, family: string, values: string[]): RequestSpec {
  const m = ctx.r.pick(ctx.methods.filter((x) => stringPaths(x.input).length));
  const json = sampleMessage(m.input, ctx.fx) as JsonObject;
  const paths = stringPaths(m.input);
  // Either one string field or all of them at once.
  for (const p of ctx.r.next() < 0.5 ? [ctx.r.pick(paths)] : paths) setPath(json, p, ctx.r.pick(values));
  return jsonRequest(ctx, family, pickJsonProtocol(ctx), m, JSON.stringify(json), json);
}

let bomb: Buffer | undefined;
/** 16 MiB of zeros in ~16 KiB of gzip: far over MAX_BODY_BYTES once inflated. */
const gzipBomb = () => (bomb ??= zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 }));

export const FAMILIES: Record<string, Family> = {
  'random-bytes': (ctx) => {
    const bytes = Buffer.from(Array.from({ length: ctx.r.int(200) }, () => ctx.r.int(256)));
    return binaryRequest('random-bytes', pickBinaryProtocol(ctx), ctx.r.pick(ctx.methods), bytes);
  },
  'truncated-protobuf': (ctx) => {
    const m = ctx.r.pick(ctx.methods.filter((x) => sampleBinary(x.input, ctx.fx).length > 2));
    const full = Buffer.from(sampleBinary(m.input, ctx.fx));
    return binaryRequest('truncated-protobuf', pickBinaryProtocol(ctx), m, full.subarray(0, 1 + ctx.r.int(full.length - 1)));
  },
  'varint-overflow': (ctx) => {
    const m = ctx.r.pick(ctx.methods);
    const field = 1 + ctx.r.int(8);
    const bytes = Buffer.from([(field << 3) | 0, ...Array(10 + ctx.r.int(6)).fill(0xff), 0x01]);
    return binaryRequest('varint-overflow', pickBinaryProtocol(ctx), m, bytes);
  },
  'bad-wire-type': (ctx) => {
    const m = ctx.r.pick(ctx.methods);
    const field = 1 + ctx.r.int(8);
    const bytes = Buffer.concat([Buffer.from(sampleBinary(m.input, ctx.fx)), Buffer.from([(field << 3) | ctx.r.pick([3, 4, 6, 7]), 0x01, 0x02])]);
    return binaryRequest('bad-wire-type', pickBinaryProtocol(ctx), m, bytes);
  },
  'invalid-utf8': (ctx) => {
    // A string field carrying bytes that are not UTF-8 (or a NUL, or an encoded surrogate).
    const m = ctx.r.pick(ctx.methods.filter((x) => x.input.fields.some((f) => f.fieldKind === 'scalar' && f.scalar === 9)));
    const f = ctx.r.pick(m.input.fields.filter((x) => x.fieldKind === 'scalar' && x.scalar === 9));
    const junk = ctx.r.pick([
      [0xff, 0xfe],
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0x61, 0x00, 0x62],
      [0xf4, 0x90, 0x80, 0x80],
    ]);
    const bytes = Buffer.concat([Buffer.from(sampleBinary(m.input, ctx.fx)), Buffer.from([(f.number << 3) | 2, junk.length, ...junk])]);
    return binaryRequest('invalid-utf8', pickBinaryProtocol(ctx), m, bytes);
  },
  'nul-in-strings': (ctx) => perString(ctx, 'nul-in-strings', ['fu\u0000zz', '\u0000', 'a@b.co\u0000', `${ctx.fx.organizationId}\u0000`]),
  'lone-surrogates': (ctx) => perString(ctx, 'lone-surrogates', ['\ud800', 'x\udfffy', '\udc00\ud800', `${ctx.fx.email}\ud83d`]),
  'huge-numbers': (ctx) => {
    const m = ctx.r.pick(ctx.methods.filter((x) => numberPaths(x.input).length));
    const json = sampleMessage(m.input, ctx.fx) as JsonObject;
    setPath(json, ctx.r.pick(numberPaths(m.input)), '__HUGE__');
    const huge = ctx.r.pick(['1e400', '-1e400', '18446744073709551616', '-9223372036854775809', '99999999999999999999999999999', '1.5', '-1', '"NaN"', '"Infinity"', '4294967296']);
    return jsonRequest(ctx, 'huge-numbers', pickJsonProtocol(ctx), m, JSON.stringify(json).replace('"__HUGE__"', huge), json);
  },
  'year-9999-timestamps': (ctx) => {
    const withTs = ctx.methods.filter((x) => messagePaths(x.input, 'google.protobuf.Timestamp').length);
    const m = ctx.r.pick(withTs);
    const json = sampleMessage(m.input, ctx.fx) as JsonObject;
    const ts = ctx.r.pick(['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.999999999Z', '0001-01-01T00:00:00Z', '10000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '2026-02-30T00:00:00Z']);
    for (const p of messagePaths(m.input, 'google.protobuf.Timestamp')) setPath(json, p, ts);
    return jsonRequest(ctx, 'year-9999-timestamps', pickJsonProtocol(ctx), m, JSON.stringify(json), json);
  },
  'prototype-pollution': (ctx) => {
    const m = ctx.r.pick(ctx.methods);
    const json = sampleMessage(m.input, ctx.fx) as JsonObject;
    const inner = JSON.stringify(json).slice(1, -1);
    const hostile = ctx.r.pick([
      '"__proto__":{"isAdmin":true,"role":"root_admin"}',
      '"constructor":{"prototype":{"polluted":true}}',
      '"__proto__":null',
      '"prototype":{"x":1},"__proto__":{"__proto__":{"y":2}}',
    ]);
    const text = `{${hostile}${inner ? ',' + inner : ''}}`;
    return jsonRequest(ctx, 'prototype-pollution', pickJsonProtocol(ctx), m, text, json);
  },
  'wrong-json-types': (ctx) => {
    const m = ctx.r.pick(ctx.methods);
    const json = sampleMessage(m.input, ctx.fx) as JsonObject;
    const keys = Object.keys(json);
    const wrong: JsonValue[] = [123, 'abc', true, null, [], {}, [1, 'a'], { nested: { deep: [] } }, -0.5];
    for (const k of keys) if (ctx.r.next() < 0.5) json[k] = ctx.r.pick(wrong);
    const text = ctx.r.next() < 0.2 ? ctx.r.pick(['[]', '"str"', '1', 'null', '{"a":', '{"a":1}}', '\u0000', '{"a":"\\x"}', '']) : JSON.stringify(json);
    return jsonRequest(ctx, 'wrong-json-types', pickJsonProtocol(ctx), m, text, json);
  },
  'bad-cookies': (ctx) => {
    const spec = anyValid(ctx, 'bad-cookies');
    spec.headers.cookie = ctx.r.pick([
      'latchkey_session=%',
      'latchkey_session=%ZZ',
      'latchkey_session=%E0%A4%A',
      'latchkey_session=%00',
      `latchkey_session=${'A'.repeat(4000)}`,
      'latchkey_session="x',
      ';;;=;',
      'latchkey_session=\u00ff\u00fe',
      Array.from({ length: 200 }, (_, i) => `c${i}=%`).join('; '),
    ]);
    delete spec.headers['x-api-key'];
    return spec;
  },
  'bad-path-escapes': (ctx) => {
    const withVars = ctx.routes.filter((r) => r.template.variables.some(Boolean));
    const route = ctx.r.pick(ctx.r.next() < 0.8 ? withVars : ctx.routes);
    const bad = ctx.r.pick(['%ZZ', '%', '%E0%A4%A', '%C0%AF', '%00', '%0d%0a', '..%2F..%2Fetc', '%ED%A0%80', '%25', '%u0041', '%%30']);
    const spec = restRequest('bad-path-escapes', route, '{}', {});
    spec.path = route.template.variables.some(Boolean) ? route.template.source.replace(/\{[^}]+\}/g, () => `x${bad}`) : `${route.template.source}${bad}`;
    return spec;
  },
  'bad-headers': (ctx) => {
    const spec = anyValid(ctx, 'bad-headers');
    const latin1 = (bytes: number[]) => Buffer.from(bytes).toString('latin1');
    const junk = ctx.r.pick([latin1([0xff, 0xfe]), latin1([0xed, 0xa0, 0x80]), latin1([0xc3, 0x28]), 'x'.repeat(8000), '../../etc/passwd', '%00', ' ', '\t', 'a,b', 'null', '-1', '1e400']);
    const header = ctx.r.pick([
      'orgid',
      'x-organization-id',
      'authorization',
      'x-api-key',
      'x-request-id',
      'x-forwarded-for',
      'connect-timeout-ms',
      'grpc-timeout',
      'connect-protocol-version',
      'content-type',
      'accept-encoding',
      'origin',
      'x-user-id',
      'x-api-key-id',
    ]);
    spec.headers[header] = header === 'authorization' ? ctx.r.pick([`Bearer ${junk}`, junk, 'Bearer a.b.c', 'Basic Zm9vOmJhcg==', 'Bearer ']) : junk;
    // A NUL or a lone CR in a header cannot be sent by any client library: write it by hand.
    if (spec.protocol === 'rest' || spec.protocol === 'connect-json' || spec.protocol === 'grpc-web') {
      if (ctx.r.next() < 0.25) spec.raw = rawRequest(spec, ctx.r.pick(['orgid', 'x-organization-id', 'x-api-key', 'cookie']), ctx.r.pick([[0x61, 0x00, 0x62], [0x0d], [0xed, 0xa0, 0x80], [0x00]]));
    }
    return spec;
  },
  'compression-bombs': (ctx) => {
    const m = ctx.r.pick(ctx.methods);
    const protocol = ctx.r.pick(ALL_PROTOCOLS);
    if (protocol === 'rest') {
      const spec = restRequest('compression-bombs', ctx.r.pick(ctx.routes.filter((r) => r.body)), '{}', {});
      return { ...spec, headers: { ...spec.headers, 'content-encoding': ctx.r.pick(['gzip', 'deflate', 'br']) === 'gzip' ? 'gzip' : 'gzip' }, body: gzipBomb() };
    }
    if (protocol === 'connect-json')
      return {
        family: 'compression-bombs',
        protocol,
        target: name(m),
        method: 'POST',
        path: rpcPath(m),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipBomb(),
      };
    if (protocol === 'connect-binary') return binaryRequest('compression-bombs', protocol, m, gzipBomb(), { 'content-encoding': 'gzip' });
    return binaryRequest('compression-bombs', protocol, m, gzipBomb(), { 'grpc-encoding': 'gzip' }, 1);
  },
  'bad-encodings': (ctx) => {
    const m = ctx.r.pick(ctx.methods);
    const protocol = ctx.r.pick(ALL_PROTOCOLS);
    const enc = ctx.r.pick(['zstd', 'snappy', 'identity, gzip', 'GZIP', 'x'.repeat(300), 'compress', 'gzip;q=1']);
    const corrupt = Buffer.from('definitely not gzip');
    const valid = Buffer.from(sampleBinary(m.input, ctx.fx));
    switch (protocol) {
      case 'rest': {
        const spec = restRequest('bad-encodings', ctx.r.pick(ctx.routes.filter((r) => r.body)), '{}', {});
        return { ...spec, headers: { ...spec.headers, 'content-encoding': ctx.r.next() < 0.5 ? enc : 'gzip' }, body: corrupt };
      }
      case 'connect-json':
        return {
          family: 'bad-encodings',
          protocol,
          target: name(m),
          method: 'POST',
          path: rpcPath(m),
          headers: { 'content-type': 'application/json', 'content-encoding': ctx.r.next() < 0.5 ? enc : 'gzip' },
          body: corrupt,
        };
      case 'connect-binary':
        return binaryRequest('bad-encodings', protocol, m, ctx.r.next() < 0.5 ? valid : corrupt, { 'content-encoding': ctx.r.next() < 0.5 ? enc : 'gzip' });
      default: {
        const kind = ctx.r.int(3);
        if (kind === 0) return binaryRequest('bad-encodings', protocol, m, valid, { 'grpc-encoding': enc }); // unknown encoding
        if (kind === 1) return binaryRequest('bad-encodings', protocol, m, zlib.gzipSync(valid), {}, 1); // compressed flag, no encoding
        return binaryRequest('bad-encodings', protocol, m, corrupt, { 'grpc-encoding': 'gzip' }, 1); // corrupt gzip
      }
    }
  },
};

/** A plausible request to a random RPC or REST binding on a random protocol. */
function anyValid(ctx: Context, family: string): RequestSpec {
  const protocol = ctx.r.pick(ALL_PROTOCOLS);
  const m = ctx.r.pick(ctx.methods);
  const json = sampleMessage(m.input, ctx.fx) as JsonObject;
  if (protocol === 'rest' || protocol === 'connect-json') return jsonRequest(ctx, family, protocol, m, JSON.stringify(json), json);
  return binaryRequest(family, protocol, m, Buffer.from(sampleBinary(m.input, ctx.fx)));
}

function rawRequest(spec: RequestSpec, header: string, bytes: number[]): Buffer {
  const body = spec.body ?? Buffer.alloc(0);
  const lines = [
    `${spec.method} ${spec.path} HTTP/1.1`,
    'Host: fuzz',
    'Connection: close',
    ...Object.entries(spec.headers)
      .filter(([k]) => k !== header && !/[^\x20-\x7e]/.test(spec.headers[k]))
      .map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
  ];
  return Buffer.concat([Buffer.from(lines.join('\r\n') + `\r\n${header}: `), Buffer.from(bytes), Buffer.from('\r\n\r\n'), body]);
}
