// The OpenAPI 3.1 document of the REST API, built once from the same descriptors, route table,
// access rules and status table the transcoder serves with; the proto comments (gen/openapi/,
// written by `npm run gen`) are the prose. Nothing here lists routes by hand except the few plain
// HTTP endpoints that are not RPCs (openapi-raw.ts).
import { type DescEnum, type DescField, type DescMessage, type DescMethod, type DescService, getExtension, getOption, hasExtension, hasOption, ScalarType } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { type FieldRules, Ignore, message as messageRules, field as validateField } from '../../gen/buf/validate/validate_pb.js';
import { http } from '../../gen/google/api/annotations_pb.js';
import { id as idRule } from '../../gen/latchkey/v1/validate_pb.js';
import { COMMENTS } from '../../gen/openapi/comments.js';
import { type ErrorCode, REASONS, type Reason } from '../modules/common/errors.js';
import { type AccessRule, accessOf } from '../transport/access.js';
import { SESSION_COOKIE } from '../transport/cookies.js';
import type { RestRoute } from '../transport/rest/route-table.js';
import { RouteTable } from '../transport/rest/route-table.js';
import { CONNECT_CODE, httpErrorFor } from '../transport/rest/status.js';
import { rawRoutes } from './openapi-raw.js';

type Schema = Record<string, unknown>;
export type OpenApiDocument = Record<string, any>;

export interface OpenApiOptions {
  version: string;
  /** /metrics is on the API port (METRICS_PORT unset). */
  metricsOnApiPort: boolean;
  /** GATEWAY_POLICY is set: forward-auth is served. */
  forwardAuth?: boolean;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const comment = (name: string): string | undefined => COMMENTS[name];

/** The OpenAPI path of a google.api.http template: `{name=segments/*}` → `{name}`. */
function openApiPath(template: string): string {
  return template.replace(/\{([^}=]+)(?:=[^}]*)?\}/g, '{$1}');
}

/** Status and envelope code of each reason on REST, from the one status table. */
function restErrorOf(reason: Reason): { status: number; code: string } {
  // The transcoder answers a known path with the wrong method itself (405, with Allow).
  if (reason === 'METHOD_NOT_ALLOWED') return { status: 405, code: 'BAD_REQUEST' };
  const code: ErrorCode = REASONS[reason];
  return httpErrorFor(CONNECT_CODE[code] ?? Code.Unknown, reason);
}

const INT32 = new Set([ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32]);
const UINT32 = new Set([ScalarType.UINT32, ScalarType.FIXED32]);

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BYTES:
      return { type: 'string', contentEncoding: 'base64' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.DOUBLE:
      return { type: 'number', format: 'double' };
    case ScalarType.FLOAT:
      return { type: 'number', format: 'float' };
    default:
      if (INT32.has(t)) return { type: 'integer', format: 'int32' };
      if (UINT32.has(t)) return { type: 'integer', format: 'uint32', minimum: 0 };
      // 64-bit integers are decimal strings in proto JSON (numbers are accepted too).
      return { type: ['string', 'integer'], format: t === ScalarType.UINT64 || t === ScalarType.FIXED64 ? 'uint64' : 'int64', pattern: '^-?[0-9]+$' };
  }
}

/** JSON forms of the well-known types (proto3 JSON mapping). */
const WKT: Record<string, Schema> = {
  'google.protobuf.Timestamp': { type: 'string', format: 'date-time' },
  'google.protobuf.Duration': { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?s$', description: 'Seconds with an "s" suffix, e.g. "3600s".' },
  'google.protobuf.Struct': { type: 'object', additionalProperties: true },
  'google.protobuf.Value': {},
  'google.protobuf.ListValue': { type: 'array', items: {} },
  'google.protobuf.Empty': { type: 'object' },
  'google.protobuf.FieldMask': { type: 'string', description: 'Comma-separated lowerCamelCase field paths.' },
  'google.protobuf.Any': { type: 'object', properties: { '@type': { type: 'string' } }, additionalProperties: true },
  'google.protobuf.DoubleValue': { type: ['number', 'null'] },
  'google.protobuf.FloatValue': { type: ['number', 'null'] },
  'google.protobuf.Int64Value': { type: ['string', 'integer', 'null'], format: 'int64' },
  'google.protobuf.UInt64Value': { type: ['string', 'integer', 'null'], format: 'uint64' },
  'google.protobuf.Int32Value': { type: ['integer', 'null'], format: 'int32' },
  'google.protobuf.UInt32Value': { type: ['integer', 'null'], format: 'uint32' },
  'google.protobuf.BoolValue': { type: ['boolean', 'null'] },
  'google.protobuf.StringValue': { type: ['string', 'null'] },
  'google.protobuf.BytesValue': { type: ['string', 'null'], contentEncoding: 'base64' },
};

/** Fields whose value can be given as a URL parameter (transcoder: scalars, enums, string-form WKTs). */
function urlSettable(f: DescField): boolean {
  if (f.fieldKind === 'scalar' || f.fieldKind === 'enum') return true;
  if (f.fieldKind === 'list') return f.listKind !== 'message';
  if (f.fieldKind === 'message') {
    const n = f.message.typeName;
    return (
      n.startsWith('google.protobuf.') &&
      n !== 'google.protobuf.Struct' &&
      n !== 'google.protobuf.Value' &&
      n !== 'google.protobuf.ListValue' &&
      n !== 'google.protobuf.Any' &&
      n !== 'google.protobuf.Empty'
    );
  }
  return false;
}

const rulesOf = (f: DescField): FieldRules | undefined => (hasOption(f, validateField) ? getOption(f, validateField) : undefined);

/** The buf.validate rules a JSON Schema can say (lengths, patterns, lists, bounds); CEL rules as prose. */
function ruleSchema(r: FieldRules | undefined): Schema {
  if (!r) return {};
  const out: Schema = {};
  const zeroAllowed = r.ignore === Ignore.IF_ZERO_VALUE;
  const v = r.type.value as Record<string, unknown> | undefined;
  switch (r.type.case) {
    case 'string': {
      const sr = r.type.value;
      if (sr.maxLen) out.maxLength = Number(sr.maxLen);
      if (sr.in.length) out.enum = zeroAllowed && !sr.in.includes('') ? ['', ...sr.in] : sr.in;
      if (zeroAllowed) break; // "" passes: no minimum, pattern or format
      if (sr.minLen) out.minLength = Number(sr.minLen);
      if (sr.pattern) out.pattern = sr.pattern;
      if (sr.wellKnown.case === 'email') out.format = 'email';
      if (sr.wellKnown.case === 'uuid') out.format = 'uuid';
      // Latchkey's predefined id rule (latchkey/v1/validate.proto), said as JSON Schema can.
      if (hasExtension(sr, idRule) && getExtension(sr, idRule)) Object.assign(out, { maxLength: 64, pattern: '^[A-Za-z0-9_-]*$' });
      break;
    }
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
    case 'sint32':
    case 'sint64':
    case 'double':
    case 'float': {
      const lt = v?.lessThan as { case?: string; value?: number | bigint } | undefined;
      const gt = v?.greaterThan as { case?: string; value?: number | bigint } | undefined;
      if (lt?.case === 'lte') out.maximum = Number(lt.value);
      if (lt?.case === 'lt') out.exclusiveMaximum = Number(lt.value);
      if (gt?.case === 'gte') out.minimum = Number(gt.value);
      if (gt?.case === 'gt') out.exclusiveMinimum = Number(gt.value);
      break;
    }
    case 'repeated': {
      const rr = r.type.value;
      if (rr.minItems) out.minItems = Number(rr.minItems);
      if (rr.maxItems) out.maxItems = Number(rr.maxItems);
      if (rr.unique) out.uniqueItems = true;
      break;
    }
  }
  const cel = r.cel.map((c) => c.message).filter(Boolean);
  if (cel.length) out['x-rules'] = cel;
  return out;
}

/** Items rules of a repeated field. */
const itemRules = (r: FieldRules | undefined): FieldRules | undefined => (r?.type.case === 'repeated' ? r.type.value.items : undefined);

class SchemaBuilder {
  readonly schemas: Record<string, Schema> = {};

  enumSchema(e: DescEnum): Schema {
    if (e.typeName === 'google.protobuf.NullValue') return { type: 'null' };
    if (!this.schemas[e.typeName]) {
      const lines = e.values.map((v) => (comment(`${e.typeName}.${v.name}`) ? `- \`${v.name}\`: ${comment(`${e.typeName}.${v.name}`)!.replace(/\n/g, ' ')}` : `- \`${v.name}\``));
      this.schemas[e.typeName] = {
        type: 'string',
        enum: e.values.map((v) => v.name),
        description: [comment(e.typeName), lines.join('\n')].filter(Boolean).join('\n\n'),
      };
    }
    return ref(e.typeName);
  }

  messageRef(m: DescMessage): Schema {
    const wkt = WKT[m.typeName];
    if (wkt) return { ...wkt };
    if (!this.schemas[m.typeName]) {
      this.schemas[m.typeName] = {}; // placeholder first: messages may refer to themselves
      this.schemas[m.typeName] = this.object(m, new Set());
    }
    return ref(m.typeName);
  }

  /** A field's JSON schema with its validation rules, without its description. */
  valueSchema(f: DescField): Schema {
    const rules = rulesOf(f);
    const base = this.typeSchema(f, rules);
    const extra = ruleSchema(rules);
    if (!Object.keys(extra).length) return base;
    // Rules beside a $ref would be ignored by some tools: wrap the reference.
    return base.$ref ? { allOf: [base], ...extra } : { ...base, ...extra };
  }

  private typeSchema(f: DescField, rules: FieldRules | undefined): Schema {
    switch (f.fieldKind) {
      case 'scalar':
        return scalarSchema(f.scalar);
      case 'enum':
        return this.enumSchema(f.enum);
      case 'message':
        return this.messageRef(f.message);
      case 'list': {
        const items = f.listKind === 'scalar' ? scalarSchema(f.scalar) : f.listKind === 'enum' ? this.enumSchema(f.enum) : this.messageRef(f.message);
        return { type: 'array', items: { ...items, ...ruleSchema(itemRules(rules)) } };
      }
      case 'map': {
        const values = f.mapKind === 'scalar' ? scalarSchema(f.scalar) : f.mapKind === 'enum' ? this.enumSchema(f.enum) : this.messageRef(f.message);
        return { type: 'object', additionalProperties: values };
      }
    }
  }

  fieldSchema(f: DescField): Schema {
    const s = this.valueSchema(f);
    const rules = s['x-rules'] as string[] | undefined;
    const text = comment(`${f.parent.typeName}.${f.name}`);
    const description = rules ? [text, `Rules: ${rules.join('; ')}.`].filter(Boolean).join('\n\n') : text;
    // A $ref with siblings is fine in OpenAPI 3.1 (JSON Schema 2020-12).
    return description ? { ...s, description } : s;
  }

  /** The message's JSON object, leaving out the top-level fields in `omit` (bound to the path). */
  object(m: DescMessage, omit: Set<string>): Schema {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const f of m.fields) {
      if (omit.has(f.name)) continue;
      properties[f.jsonName] = this.fieldSchema(f);
      if (rulesOf(f)?.required) required.push(f.jsonName);
    }
    const cel = hasOption(m, messageRules) ? getOption(m, messageRules).cel.map((c) => c.message) : [];
    const description = [comment(m.typeName), cel.length ? `Rules: ${cel.join('; ')}.` : ''].filter(Boolean).join('\n\n');
    return { type: 'object', ...(description ? { description } : {}), properties, ...(required.length ? { required } : {}), ...(cel.length ? { 'x-rules': cel } : {}) };
  }
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  schema: Schema;
}

/** The query parameters the transcoder reads for a route: every URL-settable field the path and body do not fill, dotted for nested messages. */
function queryParameters(b: SchemaBuilder, input: DescMessage, skip: Set<string>, prefix = '', seen = new Set<DescMessage>()): Parameter[] {
  if (seen.has(input)) return [];
  seen.add(input);
  const out: Parameter[] = [];
  for (const f of input.fields) {
    if (!prefix && skip.has(f.name)) continue;
    const name = prefix + f.jsonName;
    if (urlSettable(f)) {
      let schema = b.valueSchema(f);
      const desc = comment(`${f.parent.typeName}.${f.name}`);
      if (f.fieldKind === 'list') schema = { ...schema, description: 'Repeat the parameter or separate values with commas.' };
      out.push({ name, in: 'query', required: !prefix && !!rulesOf(f)?.required, ...(desc ? { description: desc } : {}), schema });
    } else if (f.fieldKind === 'message' && !f.message.typeName.startsWith('google.protobuf.')) {
      out.push(...queryParameters(b, f.message, skip, `${name}.`, new Set(seen)));
    }
  }
  return out;
}

function fieldAt(message: DescMessage, path: string): DescField | undefined {
  let m: DescMessage | undefined = message;
  let field: DescField | undefined;
  for (const part of path.split('.')) {
    field = m?.fields.find((f) => f.name === part || f.jsonName === part);
    if (!field) return undefined;
    m = field.fieldKind === 'message' ? field.message : undefined;
  }
  return field;
}

const TENANT_HEADERS = (required: boolean): Parameter[] => [
  {
    name: 'orgid',
    in: 'header',
    required,
    description: `The organization the call acts in (its id).${required ? ' Required on this route (or send `x-organization-id`): without either, 400 TENANT_REQUIRED.' : ''} Same as \`x-organization-id\`.`,
    schema: { type: 'string' },
  },
  { name: 'x-organization-id', in: 'header', required: false, description: 'The organization the call acts in; an alternative to `orgid`.', schema: { type: 'string' } },
];

function tenantHeaders(rule: AccessRule, route: RestRoute): Parameter[] {
  const requiredHere = rule.bindings.get(route.template.source)?.tenantHeaderRequired ?? false;
  if (rule.tenant === 'none' && !requiredHere) return [];
  if (rule.tenant === 'path' && route.template.variables.includes('organization_id') && !requiredHere) return [];
  return TENANT_HEADERS(requiredHere || rule.tenant === 'header_required');
}

/**
 * Headers an RPC's comment names (`x-…` in backticks) besides the tenant headers: the RPC's own
 * credential headers (SignInWithApiKey's `x-api-key`, `x-api-key-id`, `x-user-id`), which a
 * public RPC needs.
 */
function namedHeaders(text: string | undefined, rule: AccessRule): Parameter[] {
  const names = new Set([...(text ?? '').matchAll(/`(x-[a-z0-9-]+)`/g)].map((m) => m[1]).filter((n) => n !== 'x-organization-id'));
  return [...names].map((name) => ({ name, in: 'header', required: rule.credentials === 'public', description: 'See the description of the operation.', schema: { type: 'string' } }));
}

const ROLE_TEXT: Record<string, string> = { member: 'member', admin: 'admin', root_admin: 'root_admin' };

function accessText(rule: AccessRule, route: RestRoute): string {
  if (rule.credentials === 'public') return 'Credential: none.';
  const who = rule.credentials === 'signed_in' ? 'a session cookie or an access token from sign-in (API keys are refused, 403)' : 'a session cookie, an access token (JWT) or an API key';
  const parts = [`Credential: ${who}; API keys need the \`${rule.scope}\` scope.`];
  if (rule.minRole) parts.push(`Role: at least \`${ROLE_TEXT[rule.minRole]}\` in the organization the call acts in.`);
  if (rule.partnerApi || rule.bindings.get(route.template.source)?.partnerApi) parts.push('A partner API: client keys of a partner are refused (403).');
  return parts.join(' ');
}

function security(rule: AccessRule): Record<string, string[]>[] {
  if (rule.credentials === 'public') return [];
  const scopes = [rule.scope];
  const signedIn: Record<string, string[]>[] = [{ session: [] }, { bearerAuth: [] }];
  return rule.credentials === 'signed_in' ? signedIn : [...signedIn, { apiKey: scopes }, { bearerApiKey: scopes }];
}

/** The RPC's name, and the path on its additional bindings (the description has the prose). */
const summaryOf = (method: DescMethod, route: RestRoute, index: number): string => (index === 0 ? method.name : `${method.name} (${openApiPath(route.template.source)})`);

/** Error responses: one per status the status table can produce, with the envelope and its reasons. */
function errorResponses(): { responses: Record<string, unknown>; byStatus: Map<number, Reason[]> } {
  const byStatus = new Map<number, Reason[]>();
  const codes = new Map<number, Set<string>>();
  for (const reason of Object.keys(REASONS) as Reason[]) {
    const { status, code } = restErrorOf(reason);
    byStatus.set(status, [...(byStatus.get(status) ?? []), reason]);
    codes.set(status, (codes.get(status) ?? new Set()).add(code));
  }
  const responses: Record<string, unknown> = {};
  for (const [status, reasons] of [...byStatus].sort(([a], [b]) => a - b)) {
    const list = reasons.map((r) => `- \`${r}\`: ${(comment(`latchkey.v1.ErrorReason.ERROR_REASON_${r}`) ?? '').replace(/\n/g, ' ')}`).join('\n');
    responses[`Error${status}`] = {
      description: `Error envelope. \`reason\` is one of:\n${list}`,
      headers: {
        'x-request-id': { $ref: '#/components/headers/RequestId' },
        ...(status === 429
          ? {
              'RateLimit-Limit': { schema: { type: 'integer' }, description: 'Requests allowed in the window.' },
              'RateLimit-Remaining': { schema: { type: 'integer' }, description: 'Requests left in the window.' },
              'RateLimit-Reset': { schema: { type: 'integer' }, description: 'Seconds until the window resets.' },
              'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying.' },
            }
          : {}),
        ...(status === 405 ? { Allow: { schema: { type: 'string' }, description: 'The methods the path allows.' } } : {}),
      },
      content: {
        'application/json': {
          schema: {
            allOf: [
              ref('ErrorEnvelope'),
              { type: 'object', properties: { status: { const: status }, code: { type: 'string', enum: [...codes.get(status)!] }, reason: { type: 'string', enum: reasons } } },
            ],
          },
        },
      },
    };
  }
  return { responses, byStatus };
}

function envelopeSchemas(): Record<string, Schema> {
  const codes = [...new Set((Object.keys(REASONS) as Reason[]).map((r) => restErrorOf(r).code))];
  return {
    ErrorEnvelope: {
      type: 'object',
      description: 'Every REST error, also on routes whose success answer is raw. Clients switch on `reason`; `message` may change.',
      required: ['success', 'status', 'code', 'message', 'reason'],
      properties: {
        success: { const: false },
        status: { type: 'integer', description: 'The HTTP status, repeated.' },
        code: { type: 'string', enum: codes, description: 'The class of the error.' },
        message: { type: 'string', description: 'A human-readable message; never secrets or internals.' },
        reason: { type: 'string', enum: Object.keys(REASONS), description: comment('latchkey.v1.ErrorReason') ?? 'The stable reason of the error.' },
        field: { type: 'string', description: 'With VALIDATION_FAILED: the offending field, lowerCamelCase as in JSON (e.g. `rateLimit.requestsPerMinute`).' },
      },
    },
  };
}

function successEnvelope(data: Schema, method: DescMethod): Schema {
  return {
    type: 'object',
    required: ['success', 'status', 'code', 'message', 'data'],
    properties: {
      success: { const: true },
      status: { const: 200 },
      code: { const: 'OK' },
      message: { type: 'string', examples: [`${method.name} succeeded`] },
      data,
    },
  };
}

function operation(b: SchemaBuilder, route: RestRoute, index: number, errorStatuses: number[]): Record<string, unknown> {
  const { method } = route;
  const rule = accessOf(method);
  const text = comment(`${method.parent.typeName}.${method.name}`);
  const pathVars = route.template.variables.filter(Boolean);
  const bound = new Set(pathVars.map((v) => v.split('.')[0]));
  const parameters: Parameter[] = pathVars.map((v) => {
    const f = fieldAt(method.input, v);
    const desc = f && comment(`${f.parent.typeName}.${f.name}`);
    return { name: v, in: 'path', required: true, ...(desc ? { description: desc } : {}), schema: f ? b.valueSchema(f) : { type: 'string' } };
  });
  if (route.body !== '*') parameters.push(...queryParameters(b, method.input, new Set([...bound, ...(route.body ? [route.body.split('.')[0]] : [])])));
  parameters.push(...tenantHeaders(rule, route), ...namedHeaders(text, rule));

  let requestBody: Record<string, unknown> | undefined;
  if (route.body) {
    const field = route.body === '*' ? undefined : fieldAt(method.input, route.body);
    const schema = field ? b.fieldSchema(field) : bound.size ? b.object(method.input, bound) : b.messageRef(method.input);
    requestBody = { required: false, content: { 'application/json': { schema } } };
  }

  const out = route.responseBody ? method.output.fields.find((f) => f.name === route.responseBody) : undefined;
  const data = out ? b.fieldSchema(out) : b.messageRef(method.output);
  const ok = {
    description: route.raw ? 'The bare response message (no envelope).' : 'The envelope; `data` is the response.',
    headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' } },
    content: { 'application/json': { schema: route.raw ? data : successEnvelope(data, method) } },
  };
  const responses: Record<string, unknown> = { 200: ok };
  for (const s of errorStatuses) {
    if (s === 413 && !route.body) continue;
    if (s === 405) continue; // a property of the path, not of this operation
    responses[String(s)] = { $ref: `#/components/responses/Error${s}` };
  }
  const rpc = `${method.parent.typeName}/${method.name}`;
  return {
    operationId: `${method.parent.name}_${method.name}${index ? `_${index + 1}` : ''}`,
    tags: [method.parent.name],
    summary: summaryOf(method, route, index),
    description: [text, text?.includes('Credential:') ? undefined : accessText(rule, route), `RPC \`${rpc}\` (also served over gRPC, gRPC-web and Connect at \`POST /${rpc}\`).`]
      .filter(Boolean)
      .join('\n\n'),
    parameters,
    ...(requestBody ? { requestBody } : {}),
    responses,
    security: security(rule),
    'x-latchkey-rpc': rpc,
    'x-latchkey-access': { credentials: rule.credentials, ...(rule.scope ? { scope: rule.scope } : {}), tenant: rule.tenant, ...(rule.minRole ? { minRole: rule.minRole } : {}) },
  };
}

/** Where the route's binding is in its method's google.api.http rule (0 = the rule itself): stable operation ids. */
function bindingIndex(route: RestRoute): number {
  const top = getOption(route.method, http);
  const i = [top, ...top.additionalBindings].findIndex((r) => {
    const p = r.pattern.case === 'custom' ? r.pattern.value.path : r.pattern.value;
    const verb = r.pattern.case === 'custom' ? r.pattern.value.kind : r.pattern.case;
    return p === route.template.source && verb?.toUpperCase() === route.httpMethod;
  });
  return Math.max(i, 0);
}

/** The whole document. Cheap enough to build once at start-up (a few ms); serve it from a cache. */
export function buildOpenApi(services: readonly DescService[], opts: OpenApiOptions): OpenApiDocument {
  const b = new SchemaBuilder();
  const table = new RouteTable([...services]);
  const { responses, byStatus } = errorResponses();
  const errorStatuses = [...byStatus.keys()].sort((x, y) => x - y);
  const paths: Record<string, Record<string, unknown>> = {};
  // Declaration order (proto order), not the table's matching order.
  const routes = [...table.all].sort(
    (x, y) => services.indexOf(x.method.parent) - services.indexOf(y.method.parent) || x.method.parent.methods.indexOf(x.method) - y.method.parent.methods.indexOf(y.method),
  );
  for (const route of routes) {
    const path = openApiPath(route.template.source);
    paths[path] ??= {};
    paths[path][route.httpMethod.toLowerCase()] = operation(b, route, bindingIndex(route), errorStatuses);
  }
  const raw = rawRoutes(opts);
  for (const [path, ops] of Object.entries(raw)) paths[path] = { ...paths[path], ...ops };
  const served = services.filter((s) => table.all.some((r) => r.method.parent === s));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey API',
      version: opts.version,
      description: comment('latchkey/v1/common.proto') ?? '',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: [
      ...served.map((s) => ({ name: s.name, description: comment(s.typeName) ?? s.typeName })),
      { name: 'Operations', description: 'Plain HTTP endpoints for operators: probes, metrics and this document.' },
    ],
    paths,
    components: {
      schemas: { ...envelopeSchemas(), ...b.schemas },
      responses,
      headers: { RequestId: { description: 'The request id (taken from the request when it sends a valid one); it is in every log line of the request.', schema: { type: 'string' } } },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The browser session from SignIn or RedeemMagicLink (HttpOnly).' },
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token (EdDSA JWT) from SignIn, RefreshAccessToken or SignInWithApiKey; verify offline with /.well-known/jwks.json.',
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key or personal access token from CreateApiKey. The listed scopes are the ones the key needs.' },
        bearerApiKey: { type: 'http', scheme: 'bearer', description: 'The same API key as `Authorization: Bearer <api key>`.' },
      },
    },
  };
}
