// /openapi.json and /docs: the document is valid OpenAPI 3.1, lists every REST binding of the
// descriptors with the parameters the transcoder really reads, its public routes answer what it
// says, and the reference page runs in Chromium from our own origin only.
import { type DescMethod, getOption, hasOption } from '@bufbuild/protobuf';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../../gen/google/api/annotations_pb.js';
import { raw_rest_response } from '../../gen/latchkey/v1/common_pb.js';
import type { OpenApiDocument } from '../../src/ops/openapi.js';
import { accessOf } from '../../src/transport/access.js';
import { buildRequestJson } from '../../src/transport/rest/request-json.js';
import { SERVICES } from '../../src/transport/routes.js';
import { launch } from '../console/browser.js';
import { signUpAndIn } from '../helpers/accounts.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let doc: OpenApiDocument;

beforeAll(async () => {
  server = await startServer();
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as OpenApiDocument;
});
afterAll(() => server?.stop());

interface Binding {
  method: DescMethod;
  verb: string;
  path: string;
  body: string;
}

/** Every google.api.http binding, read straight from the descriptors (not through the route table). */
function bindings(): Binding[] {
  const out: Binding[] = [];
  for (const service of SERVICES) {
    for (const method of service.methods) {
      if (!hasOption(method, http)) continue;
      const top = getOption(method, http);
      for (const rule of [top, ...top.additionalBindings]) {
        const p = rule.pattern;
        if (p.case === undefined) continue;
        const [verb, path] = p.case === 'custom' ? [p.value.kind, p.value.path] : [p.case, p.value];
        out.push({ method, verb: verb.toLowerCase(), path, body: rule.body });
      }
    }
  }
  return out;
}

const templateVars = (path: string) => [...path.matchAll(/\{([^}=]+)(?:=[^}]*)?\}/g)].map((m) => m[1]);
const docPath = (path: string) => path.replace(/\{([^}=]+)(?:=[^}]*)?\}/g, '{$1}');

/** A value of the parameter's type, as a URL string. */
function sample(schema: { type?: string | string[]; enum?: string[]; $ref?: string; format?: string; items?: unknown }): string {
  if (schema.$ref) {
    const name = schema.$ref.split('/').pop()!;
    return sample(doc.components.schemas[name]);
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.enum) return schema.enum[schema.enum.length - 1];
  if (type === 'array') return sample(schema.items as object);
  if (type === 'integer') return '7';
  if (type === 'boolean') return 'true';
  if (type === 'number') return '1.5';
  if (schema.format === 'date-time') return '2030-01-02T03:04:05Z';
  if (schema.format === 'int64' || schema.format === 'uint64') return '7';
  return 'sample';
}

const getAt = (obj: unknown, dotted: string) => dotted.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);

describe('/openapi.json', () => {
  it('validates as OpenAPI 3.1 with @readme/openapi-parser', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('documents every REST binding of the descriptors, with the parameters the transcoder reads', () => {
    const all = bindings();
    expect(all.length).toBeGreaterThan(40);
    for (const b of all) {
      const where = `${b.verb.toUpperCase()} ${b.path}`;
      const op = doc.paths[docPath(b.path)]?.[b.verb];
      expect(op, where).toBeDefined();
      expect(op['x-latchkey-rpc'], where).toBe(`${b.method.parent.typeName}/${b.method.name}`);
      const params: { name: string; in: string; required: boolean; schema: object }[] = op.parameters;
      // Path: exactly the template's variables, required.
      const vars = templateVars(b.path);
      expect(
        params.filter((p) => p.in === 'path').map((p) => p.name),
        where,
      ).toEqual(vars);
      const input = b.method.input;
      const bound = new Set([...vars.map((v) => v.split('.')[0]), ...(b.body && b.body !== '*' ? [b.body] : [])]);
      const query = params.filter((p) => p.in === 'query');
      if (b.body === '*') {
        expect(query, where).toEqual([]);
        expect(op.requestBody, where).toBeDefined();
      } else {
        // Each documented query parameter sets the field it names when the transcoder builds the request.
        for (const q of query) {
          const value = sample(q.schema);
          const json = buildRequestJson(input, b.body, undefined, {}, new URLSearchParams([[q.name, value]]));
          expect(getAt(json, q.name), `${where} ?${q.name}`).toBeDefined();
        }
        // And every top-level field a URL can set (not in the path or body) is documented.
        const names = new Set(query.map((q) => q.name));
        for (const f of input.fields) {
          if (bound.has(f.name)) continue;
          const settable = f.fieldKind === 'scalar' || f.fieldKind === 'enum' || (f.fieldKind === 'list' && f.listKind !== 'message');
          if (settable) expect(names.has(f.jsonName), `${where} ?${f.jsonName}`).toBe(true);
        }
        if (b.body) expect(op.requestBody, where).toBeDefined();
        else expect(op.requestBody, where).toBeUndefined();
      }
      // The answer: the envelope around the response, or the bare response for raw_rest_response.
      const ok = op.responses['200'].content['application/json'].schema;
      const raw = hasOption(b.method, raw_rest_response) && getOption(b.method, raw_rest_response);
      if (raw) expect(ok.properties?.success, where).toBeUndefined();
      else expect(ok.properties.success, where).toEqual({ const: true });
      // Errors: the envelope with its reasons, for each status the RPC can answer.
      for (const status of ['400', '404', '429', '500', '503']) expect(op.responses[status], `${where} ${status}`).toEqual({ $ref: `#/components/responses/Error${status}` });
      if (b.body) expect(op.responses['413'], where).toBeDefined();
      // Security and tenant headers follow the access rule.
      const rule = accessOf(b.method);
      const headerRequired = rule.tenant === 'header_required' || !!rule.bindings.get(b.path)?.tenantHeaderRequired;
      const orgid = params.find((p) => p.in === 'header' && p.name === 'orgid');
      if (headerRequired) expect(orgid?.required, `${where} orgid`).toBe(true);
      if (rule.tenant === 'none' && !headerRequired) expect(orgid, `${where} orgid`).toBeUndefined();
      if (rule.tenant === 'header') expect(orgid, `${where} orgid`).toBeDefined();
      if (rule.credentials === 'public') expect(op.security, where).toEqual([]);
      else
        expect(op.security.map((s: object) => Object.keys(s)[0]).sort(), where).toEqual(
          rule.credentials === 'signed_in' ? ['bearerAuth', 'session'] : ['apiKey', 'bearerApiKey', 'bearerAuth', 'session'],
        );
    }
    // Nothing else claims to be an RPC route.
    const documented = Object.values(doc.paths).flatMap((ops) => Object.values(ops as Record<string, { 'x-latchkey-rpc'?: string }>).filter((o) => o['x-latchkey-rpc']));
    expect(documented.length).toBe(all.length);
  });

  it('gives every error status the envelope and the reasons of the catalogue', () => {
    const envelope = doc.components.schemas.ErrorEnvelope;
    expect(envelope.required).toEqual(['success', 'status', 'code', 'message', 'reason']);
    const reasons: string[] = envelope.properties.reason.enum;
    expect(reasons).toContain('API_KEY_EXPIRED');
    const byStatus = Object.entries(doc.components.responses as Record<string, { content: Record<string, { schema: { allOf: { properties?: { reason: { enum: string[] } } }[] } }> }>);
    expect(byStatus.map(([k]) => k).sort()).toEqual(['Error400', 'Error401', 'Error403', 'Error404', 'Error405', 'Error409', 'Error413', 'Error429', 'Error500', 'Error503']);
    // Each reason is documented under exactly one status.
    const listed = byStatus.flatMap(([, r]) => r.content['application/json'].schema.allOf[1].properties!.reason.enum);
    expect(listed.sort()).toEqual([...reasons].sort());
    expect(doc.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'latchkey_session' });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Api-Key' });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('answers each public route, built from the document alone, with a documented status and shape', async () => {
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, OpenApiDocument>>)) {
      for (const [verb, op] of Object.entries(ops)) {
        if (!Array.isArray(op.security) || op.security.length) continue;
        const params: { name: string; in: string; required: boolean; schema: object }[] = op.parameters ?? [];
        const url = new URL(
          path.replace(/\{([^}]+)\}/g, (_, n) => encodeURIComponent(`unknown-${n.replace(/_/g, '-')}`)),
          server.url,
        );
        for (const q of params.filter((p) => p.in === 'query' && p.required)) url.searchParams.set(q.name, sample(q.schema));
        const headers: Record<string, string> = op.requestBody ? { 'content-type': 'application/json' } : {};
        for (const h of params.filter((p) => p.in === 'header' && p.required)) headers[h.name] = sample(h.schema);
        const res = await fetch(url, {
          method: verb.toUpperCase(),
          headers,
          body: op.requestBody ? '{}' : undefined,
        });
        const where = `${verb.toUpperCase()} ${path} → ${res.status}`;
        expect(Object.keys(op.responses), where).toContain(String(res.status));
        let response = op.responses[String(res.status)];
        if (response.$ref) response = doc.components.responses[response.$ref.split('/').pop()];
        const type = Object.keys(response.content ?? {})[0];
        if (type) expect(res.headers.get('content-type'), where).toContain(type.split(';')[0]);
        const text = await res.text();
        if (type === 'application/json') {
          const body = JSON.parse(text);
          if (res.status >= 400 && op['x-latchkey-rpc']) {
            const reasons = response.content['application/json'].schema.allOf[1].properties.reason.enum;
            expect(body, where).toMatchObject({ success: false, status: res.status });
            expect(reasons, `${where} ${body.reason}`).toContain(body.reason);
          } else if (op['x-latchkey-rpc'] && !('success' in (response.content['application/json'].schema.properties ?? {}))) {
            expect(body.success, where).toBeUndefined(); // a raw answer
          } else if (op['x-latchkey-rpc']) expect(body, where).toMatchObject({ success: true, status: 200, code: 'OK' });
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('states the validation rules the server enforces', async () => {
    const password = doc.components.schemas['latchkey.v1.SignUpRequest'].properties.password;
    expect(password).toMatchObject({ type: 'string', minLength: 10, maxLength: 1024 });
    expect(doc.components.schemas['latchkey.v1.SignUpRequest'].properties.email.format).toBe('email');
    const signUp = (pw: string) =>
      fetch(`${server.url}/api/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `rules-${pw.length}@example.com`, password: pw }),
      });
    const short = await signUp('p'.repeat(password.minLength - 1));
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({ reason: 'VALIDATION_FAILED', field: 'password' });
    expect((await signUp('p'.repeat(password.minLength))).status).toBe(200);
  });

  it('documents the credential headers SignInWithApiKey reads', () => {
    const names = doc.paths['/v1/{organization}/user/signin_with_api_key'].post.parameters.filter((p: { in: string }) => p.in === 'header').map((p: { name: string }) => p.name);
    expect(names).toEqual(['x-api-key', 'x-api-key-id', 'x-user-id']);
  });

  it('marks a required tenant header as the server requires it', async () => {
    const op = doc.paths['/api-key/list'].get;
    expect(op.parameters.find((p: { name: string }) => p.name === 'orgid')).toMatchObject({ in: 'header', required: true });
    const user = await signUpAndIn(server.url);
    const without = await fetch(`${server.url}/api-key/list`, { headers: { cookie: user.cookie } });
    expect(without.status).toBe(400);
    const reason = ((await without.json()) as { reason: string }).reason;
    expect(doc.components.responses.Error400.content['application/json'].schema.allOf[1].properties.reason.enum).toContain(reason);
    expect(reason).toBe('TENANT_REQUIRED');
    const withHeader = await fetch(`${server.url}/api-key/list`, { headers: { cookie: user.cookie, orgid: user.organizationId } });
    expect(withHeader.status).toBe(200);
  });

  it('lists the probes, /metrics and the JWKS as they really answer', async () => {
    expect(doc.paths['/healthz'].get.responses['200'].content['application/json'].example).toEqual(await (await fetch(`${server.url}/healthz`)).json());
    expect(doc.paths['/readyz'].get.responses['503']).toBeDefined();
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)[0]).toMatch(/^text\/plain; version=0\.0\.4/);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(doc.paths['/.well-known/jwks.json'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/latchkey.v1.GetJwksResponse' });
  });

  it('carries the proto comments as descriptions', () => {
    const signIn = doc.paths['/api/auth/sign-in/email'].post;
    expect(signIn.description).toMatch(/sets the\s+`latchkey_session` cookie/);
    expect(doc.components.schemas['latchkey.v1.ApiKey'].properties.start.description).toMatch(/first characters/);
    // Every RPC with a REST binding has its comment: gen/openapi/comments.ts is as new as the proto.
    for (const b of bindings()) expect(doc.paths[docPath(b.path)][b.verb].description, b.path).not.toMatch(/^RPC /);
  });
});

describe('/docs', () => {
  it('serves HTML that loads its scripts from our own origin under a strict CSP', async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    expect(html).not.toMatch(/<script\b(?![^>]*\bsrc=)[^>]*>/); // no inline script
    for (const src of scripts) {
      const url = new URL(src, server.url);
      expect(url.origin).toBe(new URL(server.url).origin);
      const js = await fetch(url);
      expect(js.status, src).toBe(200);
      expect(js.headers.get('content-type'), src).toMatch(/^text\/javascript/);
    }
  });

  it('renders the reference in Chromium with no request to another origin and no CSP violation', async () => {
    const chromium = await launch();
    try {
      const ctx = await chromium.context();
      const page = await ctx.newPage();
      const foreign: string[] = [];
      const own: string[] = [];
      const problems: string[] = [];
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== new URL(server.url).origin) foreign.push(r.url());
        else own.push(u.pathname);
      });
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`${server.url}/docs`);
      await page
        .getByRole('heading', { name: /Latchkey API/ })
        .first()
        .waitFor();
      // An operation from the document is on the page.
      await page.getByText(doc.paths['/api/auth/sign-up/email'].post.summary, { exact: true }).first().waitFor();
      await page.screenshot({ path: 'test-artifacts/docs.png' });
      expect(own).toEqual(expect.arrayContaining(['/docs', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js', '/openapi.json']));
      expect(foreign).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await chromium.close();
    }
  }, 60_000);
});
