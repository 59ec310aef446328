// Validation at the edge, for every protocol, before any handler or database sees the request:
// the request message's `buf.validate` rules (protovalidate), then one walk over every string
// and timestamp in it (map keys and Struct values included), so a NUL, a lone surrogate or an
// absurd date can never reach PostgreSQL whichever field carries it. Header values need no walk:
// the HTTP/1.1 and HTTP/2 parsers refuse NUL and control bytes, and latin1 has no surrogates.
import { create, createRegistry, type DescMessage, type Message, ScalarType } from '@bufbuild/protobuf';
import { isFieldError, type Path, type ReflectMessage, reflect } from '@bufbuild/protobuf/reflect';
import { createValidator, type Violation } from '@bufbuild/protovalidate';
import { Code, ConnectError, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { BadRequestSchema, ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { file_latchkey_v1_validate } from '../../../gen/latchkey/v1/validate_pb.js';
import { DomainError } from '../../modules/common/errors.js';
import { jsonPathTo } from '../rest/request-json.js';
import { ERROR_DOMAIN } from './errors.js';

// Latchkey's predefined rules (latchkey/v1/validate.proto) must be known to the validator by their extension.
const validator = createValidator({ registry: createRegistry(file_latchkey_v1_validate) });

/** Timestamps a client may send: from the epoch to before year 3000 (a year-9999 filter is a 400, not a 500). */
const MIN_SECONDS = 0n;
const MAX_SECONDS = 32_503_680_000n; // 3000-01-01T00:00:00Z

export interface FieldProblem {
  /** JSON (lowerCamelCase) path of the field, e.g. `rateLimit.requestsPerMinute`, `scopes[2]`, `metadata.team`. */
  field: string;
  message: string;
}

/** The JSON path of a protovalidate violation. */
function jsonPath(path: Path): string {
  let out = '';
  for (const item of path) {
    if (item.kind === 'list_sub') out += `[${item.index}]`;
    else if (item.kind === 'map_sub') out += `.${String(item.key)}`;
    else if (item.kind === 'field') out += (out ? '.' : '') + item.jsonName;
    else if (item.kind === 'extension') out += (out ? '.' : '') + `[${item.typeName}]`;
  }
  return out;
}

const problemOf = (v: Violation): FieldProblem => ({ field: jsonPath(v.field), message: v.message });

/** Why a string may not go any further, or undefined when it may. */
function hostileString(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (U+0000) characters';
  if (!s.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)';
  return undefined;
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

/** The first string or timestamp in a message that must not reach the database. */
function hostileValue(m: ReflectMessage, path = ''): FieldProblem | undefined {
  const type = m.desc.typeName;
  if (type === 'google.protobuf.Timestamp') {
    const seconds = BigInt(m.get(m.fields.find((f) => f.name === 'seconds')!) as bigint);
    if (seconds < MIN_SECONDS || seconds >= MAX_SECONDS) return { field: path, message: 'must be between 1970-01-01 and 3000-01-01' };
    return undefined;
  }
  // Struct, Value and ListValue are JSON objects, values and arrays: their own fields are not in the path.
  const transparent = type === 'google.protobuf.Struct' || type === 'google.protobuf.Value' || type === 'google.protobuf.ListValue';
  for (const f of m.fields) {
    if (!m.isSet(f)) continue;
    const at = transparent ? path : join(path, f.jsonName);
    const check = (value: unknown, where: string): FieldProblem | undefined => {
      if (typeof value === 'string') {
        const bad = hostileString(value);
        return bad ? { field: where, message: bad } : undefined;
      }
      if (value && typeof value === 'object' && 'desc' in value && 'fields' in value) return hostileValue(value as ReflectMessage, where);
      return undefined;
    };
    let found: FieldProblem | undefined;
    if (f.fieldKind === 'scalar' && f.scalar === ScalarType.STRING) found = check(m.get(f), at);
    else if (f.fieldKind === 'message') found = check(m.get(f), at);
    else if (f.fieldKind === 'list') {
      for (const [i, v] of m.get(f).entries()) if ((found = check(v, `${at}[${i}]`))) break;
    } else if (f.fieldKind === 'map') {
      for (const [k, v] of m.get(f)) {
        const where = join(at, String(k));
        const badKey = typeof k === 'string' ? hostileString(k) : undefined;
        if ((found = badKey ? { field: where, message: `key ${badKey}` } : check(v, where))) break;
      }
    }
    if (found) return found;
  }
  return undefined;
}

/** Every rule violation of a request message; empty when it may proceed. */
function problemsOf(desc: DescMessage, message: Message): FieldProblem[] {
  const hostile = hostileValue(reflect(desc, message));
  if (hostile) return [hostile];
  const result = validator.validate(desc, message);
  if (result.kind === 'valid') return [];
  if (result.kind === 'invalid') return result.violations.map(problemOf);
  throw result.error; // a rule that does not compile is our bug: INTERNAL, logged
}

/** Thrown by the interceptor; the errors interceptor turns it into VALIDATION_ERROR + BadRequest. */
class ValidationFailed extends DomainError {
  constructor(readonly problems: FieldProblem[]) {
    const first = problems[0];
    super('VALIDATION_FAILED', first.field ? `${first.field}: ${first.message}` : first.message, first.field ? { field: first.field } : {});
  }
}

export const validationInterceptor: Interceptor = (next) => async (req) => {
  if (!req.stream) {
    const problems = problemsOf(req.method.input, req.message);
    if (problems.length) throw new ValidationFailed(problems);
  }
  return await next(req);
};

/** A catalogue reason for an error connect-es raised itself, by its Connect code. */
const PROTOCOL_REASON: Partial<Record<Code, string>> = {
  [Code.InvalidArgument]: 'BAD_REQUEST',
  [Code.ResourceExhausted]: 'BODY_TOO_LARGE',
  [Code.Unimplemented]: 'BAD_REQUEST',
  [Code.Unauthenticated]: 'CREDENTIAL_INVALID',
  [Code.DeadlineExceeded]: 'UNAVAILABLE',
  [Code.Unavailable]: 'UNAVAILABLE',
  [Code.Canceled]: 'BAD_REQUEST',
};

const info = (reason: string, metadata: Record<string, string> = {}) => ({ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) });

/** Give an error connect-es raised before any interceptor (decoding, limits) its code and reason. */
function relabel(e: ConnectError, input: DescMessage): void {
  if (e.findDetails(ErrorInfoSchema).length) return; // ours: already complete
  if (e.code === Code.Internal && e.rawMessage.startsWith('parse binary:')) {
    // connect-es calls an undecodable protobuf body INTERNAL; it is the client's error.
    const raw = `Malformed protobuf request body (${e.rawMessage.slice('parse binary:'.length).trim()})`;
    Object.assign(e, { code: Code.InvalidArgument, rawMessage: raw, message: `[invalid_argument] ${raw}` });
    e.details.push(info('MALFORMED_BODY'));
    return;
  }
  const cause = e.cause instanceof Error ? e.cause.cause : undefined;
  if (e.code === Code.InvalidArgument && isFieldError(cause)) {
    // A Connect JSON body whose field has the wrong type: name the field as REST does.
    const field = jsonPathTo(input, cause.field());
    e.details.push(info('VALIDATION_FAILED', { field }), {
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: [{ field, description: e.rawMessage, reason: 'VALIDATION_FAILED' }] }),
    });
    return;
  }
  if (e.code === Code.InvalidArgument && /JSON/.test(e.rawMessage)) return void e.details.push(info('MALFORMED_BODY'));
  e.details.push(info(PROTOCOL_REASON[e.code] ?? 'INTERNAL'));
}

/**
 * connect-es decodes the request before any interceptor runs, and reports an undecodable protobuf
 * body (random bytes, truncation, varint overflow, bad wire type, invalid UTF-8) as INTERNAL. This
 * request gate sees the error at the moment Connect aborts the call with it, before it is written,
 * on Connect, gRPC and gRPC-web alike: it relabels that one invalid_argument (MALFORMED_BODY) and
 * gives every other protocol-level error a catalogue reason.
 */
export function malformedBodyGate(context: HandlerContext): void {
  context.signal.addEventListener(
    'abort',
    () => {
      const e: unknown = context.signal.reason;
      if (e instanceof ConnectError) relabel(e, context.method.input);
    },
    { once: true },
  );
}
