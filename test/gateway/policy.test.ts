// GATEWAY_POLICY is validated at start: unknown keys, bad templates and duplicate routes stop the
// start with a message naming the file and line; matching prefers the most specific route.
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parsePolicy } from '../../src/gateway/policy.js';
import { POLICY, writePolicy } from './fixtures.js';

const bad = (text: string) => () => parsePolicy(text, 'policy.yaml');

describe('policy validation', () => {
  it.each([
    ['an unknown top-level key', 'routes: []\nrole:\n  member: [a]\n', /^policy\.yaml:2: unknown key "role" in the policy \(expected roles, routes\)$/],
    ['an unknown route key', 'routes:\n  - match: GET /a\n    scope: [x]\n', /^policy\.yaml:3: unknown key "scope" in a route \(expected match, scopes, tenant\)$/],
    ['an unknown role', 'roles:\n  owner: [x]\nroutes: []\n', /^policy\.yaml:2: unknown role "owner"/],
    ['a template without a method', 'routes:\n  - match: /customer\n', /^policy\.yaml:2: bad template: match must be "METHOD \/path"/],
    ['an unknown method', 'routes:\n  - match: FETCH /customer\n', /^policy\.yaml:2: bad template: unknown method "FETCH"/],
    ['an unclosed variable', 'routes:\n  - match: GET /orgs/{organization_id/projects\n', /^policy\.yaml:2: bad template: bad variable "\{organization_id"/],
    ['"**" before the end', 'routes:\n  - match: GET /a/**/b\n', /^policy\.yaml:2: bad template: "\*\*" may only be the last segment/],
    ['a partial wildcard', 'routes:\n  - match: GET /a/b*\n', /wildcards must be a whole segment/],
    ['a dot segment', 'routes:\n  - match: GET /a/../b\n', /dot segment/],
    [
      'a duplicate route',
      'routes:\n  - match: GET /o/{organization_id}/p\n  - match: GET /x\n  - match: GET /o/{org}/p\n',
      /^policy\.yaml:4: duplicate route "GET \/o\/\{org\}\/p": matches the same requests as "GET \/o\/\{organization_id\}\/p" on line 2$/,
    ],
    ['a bad tenant', 'routes:\n  - match: GET /x\n    tenant: query\n', /^policy\.yaml:3: tenant must be "header"/],
    ['tenant: header with {organization_id}', 'routes:\n  - match: GET /o/{organization_id}\n    tenant: header\n', /conflicts with \{organization_id\}/],
    ['a scope no role grants', 'roles:\n  member: [a:read]\nroutes:\n  - match: GET /x\n    scopes: [b:read]\n', /^policy\.yaml:5: scope "b:read" is granted by no role/],
    ['a scope with a space', 'routes:\n  - match: GET /x\n    scopes: ["a b"]\n', /^policy\.yaml:3: bad scope/],
    ['duplicate keys', 'routes: []\nroutes: []\n', /^policy\.yaml:2: Map keys must be unique/],
    ['broken YAML', 'routes:\n  - match: [GET /x\n', /^policy\.yaml:\d+: /],
    ['routes missing', 'roles: {}\n', /^policy\.yaml:1: routes must be a list/],
  ])('refuses %s', (_what, text, message) => {
    expect(bad(text)).toThrow(message);
  });

  it('reads JSON too, with line numbers', () => {
    expect(bad('{\n  "routes": [\n    {"match": "GET /x", "scopez": []}\n  ]\n}\n')).toThrow(/^policy\.yaml:3: unknown key "scopez"/);
    expect(parsePolicy('{"routes": [{"match": "GET /x"}]}').routes).toHaveLength(1);
  });

  it('matches the most specific route; roles are cumulative', () => {
    const p = parsePolicy(
      'roles:\n  member: [p:read]\n  admin: [p:write]\nroutes:\n  - match: "* /data/**"\n    tenant: header\n  - match: GET /data/{id}\n  - match: GET /data/export\n  - match: GET /\n',
    );
    expect(p.match('GET', '/data/export')?.route.template.source).toBe('GET /data/export');
    expect(p.match('GET', '/data/42')?.vars).toEqual({ id: '42' });
    expect(p.match('DELETE', '/data/42')?.route.template.source).toBe('* /data/**');
    expect(p.match('GET', '/data')?.route.template.source).toBe('* /data/**');
    expect(p.match('GET', '/')?.route.template.source).toBe('GET /');
    expect(p.match('GET', '/other')).toBeUndefined();
    expect(p.capDownstream(undefined, 'root_admin').sort()).toEqual(['p:read', 'p:write']);
    expect(p.capDownstream(['p:read', 'p:write', 'user:read'], 'member')).toEqual(['p:read', 'user:read']);
    expect(() => p.match('GET', '/data/%2e%2e/x')).toThrow('Dot segments are not allowed in the path');
    expect(() => p.match('GET', '/data/a%2fb')).toThrow(/Encoded slashes/);
  });

  it('GATEWAY_POLICY errors are configuration errors naming the file and line; GATEWAY_UPSTREAM needs a policy', async () => {
    const { file } = await writePolicy('routes:\n  - match: GET /customer\n    scope: [x]\n');
    expect(() => loadConfig({ GATEWAY_POLICY: file })).toThrow(ConfigError);
    expect(() => loadConfig({ GATEWAY_POLICY: file })).toThrow(`GATEWAY_POLICY ${file}:3: unknown key "scope" in a route`);
    expect(() => loadConfig({ GATEWAY_POLICY: '/nonexistent/policy.yaml' })).toThrow('GATEWAY_POLICY /nonexistent/policy.yaml: cannot read: ENOENT');
    expect(() => loadConfig({ GATEWAY_UPSTREAM: 'http://127.0.0.1:9' })).toThrow('GATEWAY_UPSTREAM needs GATEWAY_POLICY');
    const good = await writePolicy(POLICY);
    expect(loadConfig({ GATEWAY_POLICY: good.file }).gateway.policy?.routes).toHaveLength(4);
  });

  it('a bad policy stops `latchkey` at start with the message and exit code 2', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-badpolicy-'));
    const file = path.join(dir, 'policy.yaml');
    await writeFile(file, 'routes:\n  - match: GET /customer\n  - match: GET /customer\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, GATEWAY_POLICY: file, DATA_DIR: dir, PORT: '0' }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`latchkey: invalid configuration: GATEWAY_POLICY ${file}:3: duplicate route "GET /customer": matches the same requests as "GET /customer" on line 2`);
  }, 90_000);
});
