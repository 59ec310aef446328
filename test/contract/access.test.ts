// The contract says who may call every RPC: each method of each served service has an access rule
// (its (latchkey.v1.access) option, or the one small table for vendored services), and the server
// refuses to start when one is missing or wrong.
import { create, createFileRegistry, type DescMethod, type MessageInitShape, setExtension } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type MethodOptions, MethodOptionsSchema } from '@bufbuild/protobuf/wkt';
import { createConnectRouter } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { http } from '../../gen/google/api/annotations_pb.js';
import { HttpRuleSchema } from '../../gen/google/api/http_pb.js';
import { Access_Credentials, Access_Role, Access_Tenant, AccessSchema, access } from '../../gen/latchkey/v1/access_pb.js';
import { accessOf, assertAccessRules, EXTERNAL_ACCESS } from '../../src/transport/access.js';
import { routes, SERVICES } from '../../src/transport/routes.js';
import { startServer, type TestServer } from '../helpers/server.js';

const methods = SERVICES.flatMap((s) => s.methods.map((m) => [`${s.typeName}.${m.name}`, m] as [string, DescMethod]));

describe('every RPC of every served service has an access rule', () => {
  test.each(methods)('%s', (_name, method) => {
    const rule = accessOf(method);
    expect(['public', 'any', 'signed_in']).toContain(rule.credentials);
    if (rule.credentials !== 'public') expect(rule.scope).not.toBe('');
  });

  test('only vendored methods come from the code table, and each of them is served', () => {
    const served = new Set(methods.map(([, m]) => `${m.parent.typeName}/${m.name}`));
    for (const key of Object.keys(EXTERNAL_ACCESS)) {
      expect(key.startsWith('latchkey.')).toBe(false);
      expect(served).toContain(key);
    }
  });
});

describe('the router built at start-up', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s?.stop());

  test('serves exactly the methods of SERVICES (the REST table and the access test see them all)', () => {
    const router = routes(s.deps)(createConnectRouter());
    const served = router.handlers.map((h) => `${h.method.parent.typeName}.${h.method.name}`).sort();
    expect(served).toEqual(methods.map(([name]) => name).sort());
  });
});

/** A one-method service `x.v1.Svc/Do` with the given options, to feed the start-up check. */
function methodWith(options?: MethodOptions): DescMethod {
  const file = create(FileDescriptorProtoSchema, {
    name: 'x/v1/x.proto',
    package: 'x.v1',
    syntax: 'proto3',
    messageType: [{ name: 'DoRequest' }],
    service: [{ name: 'Svc', method: [{ name: 'Do', inputType: '.x.v1.DoRequest', outputType: '.x.v1.DoRequest', options }] }],
  });
  return createFileRegistry(file, () => undefined).getService('x.v1.Svc')!.methods[0];
}

function optionsOf(rule: MessageInitShape<typeof AccessSchema>, path?: string): MethodOptions {
  const o = create(MethodOptionsSchema);
  setExtension(o, access, create(AccessSchema, rule));
  if (path) setExtension(o, http, create(HttpRuleSchema, { pattern: { case: 'get', value: path } }));
  return o;
}

describe('start-up refuses a served method without a valid rule', () => {
  test('no option at all names the method', () => {
    expect(() => assertAccessRules([methodWith()])).toThrow(/x\.v1\.Svc\.Do: has no \(latchkey\.v1\.access\) option/);
  });

  test.each<[string, MessageInitShape<typeof AccessSchema>, RegExp]>([
    ['credentials not set', {}, /credentials is not set/],
    ['unknown scope', { credentials: Access_Credentials.ANY, scope: 'everything', tenant: Access_Tenant.NONE }, /not a Latchkey scope/],
    ['tenant not set', { credentials: Access_Credentials.ANY, scope: 'orgs:read' }, /tenant is not set/],
    ['tenant without a role', { credentials: Access_Credentials.ANY, scope: 'orgs:read', tenant: Access_Tenant.PATH }, /min_role is not set/],
    ['a role with no tenant', { credentials: Access_Credentials.ANY, scope: 'orgs:read', tenant: Access_Tenant.NONE, minRole: Access_Role.ADMIN }, /needs a tenant/],
    ['a public RPC with a scope', { credentials: Access_Credentials.PUBLIC, scope: 'orgs:read' }, /public RPC takes no scope/],
    [
      'a binding that is not one of its paths',
      { credentials: Access_Credentials.ANY, scope: 'orgs:read', tenant: Access_Tenant.NONE, bindings: [{ path: '/y', tenantHeaderRequired: true }] },
      /"\/y", which is not one of its google\.api\.http paths/,
    ],
  ])('%s', (_what, rule, message) => {
    expect(() => assertAccessRules([methodWith(optionsOf(rule, '/x'))])).toThrow(message);
  });

  test('a well-formed rule passes, with its binding rule', () => {
    const m = methodWith(optionsOf({ credentials: Access_Credentials.ANY, scope: 'orgs:read', tenant: Access_Tenant.NONE, bindings: [{ path: '/x', tenantHeaderRequired: true }] }, '/x'));
    expect(() => assertAccessRules([m])).not.toThrow();
    expect(accessOf(m).bindings.get('/x')).toEqual({ tenantHeaderRequired: true, partnerApi: false });
  });
});
