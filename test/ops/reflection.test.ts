// gRPC server reflection: buf curl, a real reflection client, lists the services and calls one
// with only what it learns from the server (no local schema), over h2c on the one port.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

const bufCurl = (...args: string[]) => run('npx', ['buf', 'curl', '--http2-prior-knowledge', ...args], { timeout: 60_000 });

describe('gRPC reflection', () => {
  it('lists every served service over v1', async () => {
    const { stdout } = await bufCurl('--reflect', '--list-services', s.url);
    expect(stdout.trim().split('\n').sort()).toEqual([
      'envoy.service.auth.v3.Authorization',
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'latchkey.v1.ApiKeyService',
      'latchkey.v1.AuthService',
      'latchkey.v1.MfaService',
      'latchkey.v1.OAuthClientService',
      'latchkey.v1.OrgPolicyService',
      'latchkey.v1.OrgService',
      'latchkey.v1.SsoService',
      'latchkey.v1.TokenService',
      'latchkey.v1.WebhookService',
    ]);
  });

  it('lists methods from reflected descriptors, also over v1alpha', async () => {
    const { stdout } = await bufCurl('--reflect', '--reflect-protocol', 'grpc-v1alpha', '--list-methods', s.url);
    expect(stdout).toContain('latchkey.v1.ApiKeyService/CreateApiKey');
    expect(stdout).toContain('grpc.health.v1.Health/Check');
  });

  it('calls Health/Check with a reflected schema', async () => {
    const { stdout } = await bufCurl('--reflect', '--protocol', 'grpc', '-d', '{}', `${s.url}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(stdout)).toEqual({ status: 'SERVING' });
  });

  it('calls a Latchkey RPC with a reflected schema and gets its real error', async () => {
    const r = await bufCurl('--reflect', '--protocol', 'grpc', '-d', '{}', `${s.url}/latchkey.v1.AuthService/GetMe`).catch((e) => e);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unauthenticated/i);
  });

  it('names a missing symbol as not found', async () => {
    const r = await bufCurl('--reflect', '-d', '{}', `${s.url}/latchkey.v1.NoSuchService/Nope`).catch((e) => e);
    expect(r.stderr).toMatch(/failed to find service named "latchkey.v1.NoSuchService"/);
  });
});
