// Merge path variables, query parameters and the body into the request message's JSON form.
import { type DescField, type DescMessage, type DescOneof, type JsonObject, type JsonValue, ScalarType } from '@bufbuild/protobuf';
import { DomainError, invalid } from '../../modules/common/errors.js';

function fieldByName(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name || f.jsonName === name);
}

/** The JSON (lowerCamelCase) dotted path from a message to one of its (nested) fields, or its bare name. */
export function jsonPathTo(root: DescMessage, target: DescField | DescOneof): string {
  const seen = new Set<DescMessage>([root]);
  const queue: [DescMessage, string][] = [[root, '']];
  for (let next = queue.shift(); next; next = queue.shift()) {
    const [message, path] = next;
    for (const f of message.fields) {
      const here = path ? `${path}.${f.jsonName}` : f.jsonName;
      if (f === target || (target.kind === 'oneof' && f.oneof === target)) return target.kind === 'oneof' ? (path ? `${path}.${target.localName}` : target.localName) : here;
      const child = f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message') || (f.fieldKind === 'map' && f.mapKind === 'message') ? f.message : undefined;
      if (child && !seen.has(child)) {
        seen.add(child);
        queue.push([child, here]);
      }
    }
  }
  return target.kind === 'oneof' ? target.localName : target.jsonName;
}

/** Resolve a dotted path of proto or JSON names to the fields along it. */
function resolvePath(message: DescMessage, path: string): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const part of path.split('.')) {
    if (!current) return undefined;
    const field = fieldByName(current, part);
    if (!field) return undefined;
    fields.push(field);
    current = field.fieldKind === 'message' ? field.message : undefined;
  }
  return fields;
}

const INT32 = new Set([ScalarType.INT32, ScalarType.UINT32, ScalarType.SINT32, ScalarType.FIXED32, ScalarType.SFIXED32]);

function scalarFromString(field: DescField, scalar: ScalarType | undefined, raw: string): JsonValue {
  const name = field.jsonName;
  if (scalar === undefined) return raw; // enums and well-known string forms (Timestamp, Duration)
  switch (scalar) {
    case ScalarType.BOOL:
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0' || raw === '') return false;
      throw invalid(name, `must be true or false, got "${raw}"`);
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return raw;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT: {
      const n = Number(raw);
      if (raw === '' || Number.isNaN(n)) throw invalid(name, `must be a number, got "${raw}"`);
      return n;
    }
    default: {
      if (!/^-?\d+$/.test(raw)) throw invalid(name, `must be an integer, got "${raw}"`);
      return INT32.has(scalar) ? Number(raw) : raw;
    }
  }
}

function valueFromStrings(field: DescField, raws: string[]): JsonValue {
  if (field.fieldKind === 'list') {
    const scalar = field.listKind === 'scalar' ? field.scalar : undefined;
    return raws
      .flatMap((r) => r.split(','))
      .filter(Boolean)
      .map((r) => scalarFromString(field, scalar, r));
  }
  const raw = raws[raws.length - 1];
  if (field.fieldKind === 'scalar') return scalarFromString(field, field.scalar, raw);
  if (field.fieldKind === 'enum') return raw;
  if (field.fieldKind === 'message' && field.message.typeName.startsWith('google.protobuf.')) {
    const wrapped = field.message.fields.find((f) => f.name === 'value');
    if (wrapped && field.message.typeName.endsWith('Value') && wrapped.fieldKind === 'scalar') {
      return scalarFromString(field, wrapped.scalar, raw);
    }
    return raw; // Timestamp, Duration, FieldMask: their JSON form is a string
  }
  throw invalid(field.jsonName, 'cannot be set from a URL parameter');
}

function setAt(target: JsonObject, fields: DescField[], value: JsonValue): void {
  let obj = target;
  for (const f of fields.slice(0, -1)) {
    const next = obj[f.jsonName];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) obj[f.jsonName] = {};
    obj = obj[f.jsonName] as JsonObject;
  }
  obj[fields[fields.length - 1].jsonName] = value;
}

export function buildRequestJson(input: DescMessage, bodyRule: string, body: JsonValue | undefined, pathVars: Record<string, string>, query: URLSearchParams): JsonObject {
  let json: JsonObject = {};
  if (bodyRule === '*') {
    if (body !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new DomainError('BAD_REQUEST', 'Request body must be a JSON object');
      }
      json = body;
    }
  } else if (bodyRule) {
    const fields = resolvePath(input, bodyRule);
    if (!fields) throw new Error(`body field ${bodyRule} not in ${input.typeName}`);
    if (body !== undefined) setAt(json, fields, body);
  }
  // Query parameters fill the fields the body does not (none when body is "*").
  if (bodyRule !== '*') {
    const keys = new Set(query.keys());
    for (const key of keys) {
      const fields = resolvePath(input, key);
      if (!fields) continue; // unknown parameters are ignored, like unknown JSON fields
      setAt(json, fields, valueFromStrings(fields[fields.length - 1], query.getAll(key)));
    }
  }
  // Path variables win over anything the body or query says.
  for (const [path, raw] of Object.entries(pathVars)) {
    const fields = resolvePath(input, path);
    if (!fields) throw new Error(`path variable ${path} not in ${input.typeName}`);
    setAt(json, fields, valueFromStrings(fields[fields.length - 1], [raw]));
  }
  return json;
}
