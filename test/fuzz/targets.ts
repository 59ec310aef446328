// What the fuzzer aims at, read from the same descriptors the server serves: every RPC of every
// service (for Connect, gRPC and gRPC-web) and every REST binding of the google.api.http rules.
import { type DescField, type DescMessage, type DescMethod, fromJson, type JsonObject, type JsonValue, toBinary } from '@bufbuild/protobuf';
import { type RestRoute, RouteTable } from '../../src/transport/rest/route-table.js';
import { SERVICES } from '../../src/transport/routes.js';

/** grpc.health.v1 lets a server answer Watch with UNIMPLEMENTED (it serves Check only); that is no fault. */
const SPEC_UNIMPLEMENTED = new Set(['grpc.health.v1.Health.Watch']);

// Bidi streams (gRPC reflection) need HTTP/2: on HTTP/1.1 the Connect protocol answers 505 by design;
// reflection is exercised with buf curl in test/ops/reflection.test.ts.
export const METHODS: DescMethod[] = SERVICES.flatMap((s) => s.methods).filter((m) => !SPEC_UNIMPLEMENTED.has(`${m.parent.typeName}.${m.name}`) && m.methodKind !== 'bidi_streaming');
export const REST_ROUTES: readonly RestRoute[] = new RouteTable(SERVICES).all;

/** Values the samples use, so some requests get past validation into the handlers. */
export interface Fixture {
  organizationId: string;
  userId: string;
  email: string;
}

function sampleString(field: DescField, fx: Fixture): string {
  const n = field.name;
  if (n.includes('email')) return fx.email;
  if (n === 'organization_id' || n === 'organization' || n === 'client_organization_id') return fx.organizationId;
  if (n === 'user_id') return fx.userId;
  if (n.includes('password')) return 'a-long-secure-passphrase';
  if (n.includes('scope')) return 'keys:read';
  if (n.includes('role')) return 'member';
  return 'fuzz';
}

function sampleScalar(field: DescField, scalar: number, fx: Fixture): JsonValue {
  // ScalarType: 1 double, 2 float, 3 int64, 4 uint64, 5 int32, 8 bool, 9 string, 12 bytes, …
  switch (scalar) {
    case 1:
    case 2:
      return 1.5;
    case 8:
      return true;
    case 9:
      return sampleString(field, fx);
    case 12:
      return 'ZnV6eg==';
    case 3:
    case 4:
    case 6:
    case 16:
    case 18:
      return '10';
    default:
      return 10;
  }
}

const WELL_KNOWN: Record<string, JsonValue> = {
  'google.protobuf.Timestamp': '2026-01-01T00:00:00Z',
  'google.protobuf.Duration': '60s',
  'google.protobuf.FieldMask': 'name',
  'google.protobuf.Struct': { k: 'v' },
  'google.protobuf.Value': 'v',
  'google.protobuf.Empty': {},
};

function sampleSingle(field: DescField, fx: Fixture, depth: number): JsonValue | undefined {
  switch (field.fieldKind) {
    case 'scalar':
      return sampleScalar(field, field.scalar, fx);
    case 'enum':
      return (field.enum.values[1] ?? field.enum.values[0]).name;
    case 'message':
      return sampleMessage(field.message, fx, depth + 1);
    default:
      return undefined;
  }
}

/** A plausible JSON request for a message: every field set once (first member of a oneof). */
export function sampleMessage(message: DescMessage, fx: Fixture, depth = 0): JsonValue {
  const known = WELL_KNOWN[message.typeName];
  if (known !== undefined) return known;
  if (message.typeName.startsWith('google.protobuf.') && message.typeName.endsWith('Value')) {
    const inner = message.fields[0];
    return inner?.fieldKind === 'scalar' ? sampleScalar(inner, inner.scalar, fx) : null;
  }
  const json: JsonObject = {};
  if (depth > 2) return json;
  for (const field of message.fields) {
    if (field.oneof && field.oneof.fields[0] !== field) continue;
    if (field.fieldKind === 'list') {
      const one = field.listKind === 'scalar' ? sampleScalar(field, field.scalar, fx) : field.listKind === 'enum' ? (field.enum.values[1]?.name ?? 0) : sampleMessage(field.message, fx, depth + 1);
      json[field.jsonName] = [one];
    } else if (field.fieldKind === 'map') {
      const value = field.mapKind === 'scalar' ? sampleScalar(field, field.scalar, fx) : field.mapKind === 'enum' ? field.enum.values[0].name : sampleMessage(field.message, fx, depth + 1);
      json[field.jsonName] = { [field.mapKey === 9 ? 'k' : '1']: value };
    } else {
      const v = sampleSingle(field, fx, depth);
      if (v !== undefined) json[field.jsonName] = v;
    }
  }
  return json;
}

/** The sample as protobuf binary (the base the byte-level mutations start from). */
export function sampleBinary(message: DescMessage, fx: Fixture): Uint8Array {
  return toBinary(message, fromJson(message, sampleMessage(message, fx), { ignoreUnknownFields: true }));
}

/** Every string field reachable in a message, as JSON-name paths (for the per-string families). */
export function stringPaths(message: DescMessage, depth = 0): string[][] {
  const out: string[][] = [];
  if (depth > 2 || message.typeName.startsWith('google.protobuf.')) return out;
  for (const f of message.fields) {
    if ((f.fieldKind === 'scalar' || f.fieldKind === 'list') && f.scalar === 9) out.push([f.jsonName]);
    if (f.fieldKind === 'map') out.push([f.jsonName, 'k']);
    if (f.fieldKind === 'message') for (const p of stringPaths(f.message, depth + 1)) out.push([f.jsonName, ...p]);
  }
  return out;
}

/** Paths to fields of a given message type (Timestamps for the year-9999 family). */
export function messagePaths(message: DescMessage, typeName: string, depth = 0): string[][] {
  const out: string[][] = [];
  if (depth > 2) return out;
  for (const f of message.fields) {
    if (f.fieldKind !== 'message') continue;
    if (f.message.typeName === typeName) out.push([f.jsonName]);
    else for (const p of messagePaths(f.message, typeName, depth + 1)) out.push([f.jsonName, ...p]);
  }
  return out;
}

/** Paths to numeric fields (for the huge-number family). */
export function numberPaths(message: DescMessage, depth = 0): string[][] {
  const out: string[][] = [];
  if (depth > 2 || message.typeName.startsWith('google.protobuf.')) return out;
  for (const f of message.fields) {
    if ((f.fieldKind === 'scalar' || f.fieldKind === 'list') && f.scalar !== undefined && ![8, 9, 12].includes(f.scalar)) out.push([f.jsonName]);
    if (f.fieldKind === 'message') for (const p of numberPaths(f.message, depth + 1)) out.push([f.jsonName, ...p]);
  }
  return out;
}
