// The operator CLI spawned as a child process (bin/latchkey.js, as `npx latchkey` runs it) against
// the embedded database, or PostgreSQL when TEST_DATABASE_URL is set: migrations, bootstrap,
// keys minted and revoked, a signing-key rotation and the audit export, each checked through a
// real server afterwards; organizations; and doctor naming what is wrong. The test server's SECRET
// is passed so the CLI and the server open each other's signing keys.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { onRealPostgres, startServer } from '../helpers/server.js';

const run = promisify(execFile);
let dataDir: string;
let databaseUrl: string | undefined;

type Result = { stdout: string; stderr: string; code?: number };
const cli = (args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> => {
  const p = run(process.execPath, ['bin/latchkey.js', ...args], {
    timeout: 120_000,
    env: { PATH: process.env.PATH!, DATA_DIR: dataDir, LOG_LEVEL: 'silent', SECRET: 'latchkey-test-secret-0123456789-abcdefghij', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...env },
  });
  if (input !== undefined) p.child.stdin!.end(input);
  else p.child.stdin!.end();
  return p.then((r): Result => r).catch((e) => e as Result);
};
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-cli-'));
  if (onRealPostgres) {
    const name = `lk_cli_${Date.now().toString(36)}`;
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL! });
    await c.connect();
    await c.query(`create database ${name}`);
    await c.end();
    const u = new URL(process.env.TEST_DATABASE_URL!);
    u.pathname = `/${name}`;
    databaseUrl = u.toString();
  }
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  if (databaseUrl) {
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL! });
    await c.connect();
    await c.query(`drop database if exists ${new URL(databaseUrl).pathname.slice(1)} with (force)`);
    await c.end();
  }
});

describe('latchkey CLI', () => {
  it('migrate status, up, status', async () => {
    const before = await cli(['migrate', 'status']);
    expect(before.stdout).toMatch(/^pending {2}Migration20261122000001$/m);
    expect(before.stdout).not.toMatch(/executed/);
    const doc = await cli(['doctor']);
    expect(doc.code).toBe(1);
    expect(doc.stdout).toMatch(/FAIL {2}database .*migration\(s\) pending: run `latchkey migrate up`/);
    const up = await cli(['migrate', 'up']);
    expect(up.stdout).toMatch(/^applied Migration20261122000001$/m);
    expect((await cli(['migrate', 'up'])).stdout.trim()).toBe('up to date');
    const after = await cli(['migrate', 'status']);
    expect(after.stdout).not.toMatch(/pending/);
    expect(after.stdout).toMatch(/^executed Migration20261201000010$/m);
  }, 180_000);

  it('bootstrap, mint-key, revoke-key, rotate-signing-key and audit export, as the server then sees them', async () => {
    const boot = await cli(['bootstrap', '--email', 'Root@Example.com', '--name', 'Root Operator', '--org', 'Acme Ops', '--slug', 'acme-ops', '--password-stdin'], {}, 'a-long-secure-passphrase\n');
    expect(boot.code ?? 0).toBe(0);
    expect(boot.stderr).toMatch(/shown once/);
    const b = JSON.parse(boot.stdout);
    expect(b).toMatchObject({
      user: { email: 'root@example.com', name: 'Root Operator' },
      organization: { name: 'Acme Ops', slug: 'acme-ops', type: 'team', role: 'root_admin' },
      apiKey: { scopes: ['read', 'write'], expiresAt: null },
    });
    expect(b.secret).toMatch(/^lk_/);
    expect(b.secret.startsWith(b.apiKey.start)).toBe(true);

    const again = await cli(['bootstrap', '--email', 'other@example.com', '--org', 'Other']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^latchkey: the database is not empty \(1 user\(s\), 2 organization\(s\)\): bootstrap only runs once/);

    const minted = await cli(['mint-key', '--org', 'acme-ops', '--name', 'ci', '--scopes', 'api-keys:read,projects:write', '--expires-in', '30d']);
    const kept = JSON.parse(minted.stdout);
    expect(kept).toMatchObject({ name: 'ci', organizationId: b.organization.id, createdByUserId: b.user.id, scopes: ['api-keys:read', 'projects:write'] });
    expect(Date.parse(kept.expiresAt) - Date.now()).toBeGreaterThan(29.9 * 86400_000);
    const doomed = JSON.parse((await cli(['mint-key', '--org', b.organization.id, '--name', 'doomed'])).stdout);
    const revoked = await cli(['revoke-key', doomed.id]);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: doomed.id, revokedAt: expect.any(String) });
    const unknown = await cli(['mint-key', '--org', 'nowhere', '--name', 'x', '--expires-in', '3x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--expires-in: "3x" is not a duration/);

    const kidsBefore = await cli(['rotate-signing-key']);
    const rotated = JSON.parse(kidsBefore.stdout);
    expect(rotated.stillVerifying).toHaveLength(1);
    expect(rotated.kid).not.toBe(rotated.stillVerifying[0]);

    const exported = lines((await cli(['audit', 'export', '--org', 'acme-ops'])).stdout);
    expect(exported.map((e) => e.type)).toEqual(['api_key.revoked', 'api_key.created', 'api_key.created', 'api_key.created', 'organization.created']);
    expect(exported.every((e) => e.organizationId === b.organization.id && e.userAgent === 'latchkey-cli')).toBe(true);
    expect(exported[0]).toMatchObject({ targetType: 'api_key', targetId: doomed.id, actorType: 'system' });
    const filtered = await cli(['audit', 'export', '--type', 'api_key.revoked', '--since', exported[1].createdAt]);
    expect(lines(filtered.stdout).map((e) => e.targetId)).toEqual([doomed.id]);
    expect(filtered.stderr).toMatch(/1 event\(s\) exported/);
    expect(lines((await cli(['audit', 'export', '--org', 'acme-ops', '--until', exported.at(-1).createdAt])).stdout)).toEqual([]);

    // The server on the same database: the keys and the rotation are what the API sees.
    const server = await startServer({ dataDir, databaseUrl });
    try {
      const me = await rest(server.url, 'GET', '/api/user/me', { headers: { 'x-api-key': b.secret } });
      expect(me.status).toBe(200);
      expect(me.body.data.email).toBe('root@example.com');
      const listed = await rest(server.url, 'GET', '/api-key/list', { headers: { 'x-api-key': kept.secret, orgid: b.organization.id } });
      expect(listed.status).toBe(200); // its scope api-keys:read, as minted
      const refused = await rest(server.url, 'GET', '/api/user/me', { headers: { 'x-api-key': doomed.secret } });
      expect(refused.status).toBe(401);
      expect(refused.body.reason).toBe('API_KEY_REVOKED');
      const signIn = await rest(server.url, 'POST', '/api/auth/sign-in/email', { body: { email: 'root@example.com', password: 'a-long-secure-passphrase' } });
      expect(signIn.status).toBe(200);
      const jwks: any = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
      const kids = (jwks.keys ?? jwks.data.keys).map((k: { kid: string }) => k.kid);
      expect(kids).toEqual([rotated.kid, ...rotated.stillVerifying]);
    } finally {
      await server.stop();
    }
  }, 300_000);

  it('org create and list, with a user signed up through the server', async () => {
    const server = await startServer({ dataDir, databaseUrl });
    const email = uniqueEmail('cli');
    await signUpAndIn(server.url, 'Cli Owner', email);
    await server.stop();
    const created = await cli(['org', 'create', '--name', 'Acme Two', '--owner', email, '--slug', 'acme-two']);
    expect(created.stderr ?? '').toBe('');
    const org = JSON.parse(created.stdout);
    expect(org).toMatchObject({ name: 'Acme Two', slug: 'acme-two', type: 'team' });
    expect(lines((await cli(['org', 'list'])).stdout)).toContainEqual(org);
    const nobody = await cli(['org', 'create', '--name', 'X', '--owner', 'nobody@example.com']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/^latchkey: no user with email nobody@example.com$/m);
  }, 180_000);

  it('doctor names a broken setting, an unreachable SMTP server, and passes a good setup', async () => {
    const bad = await cli(['doctor'], { PORT: 'eighty' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}configuration: PORT must be an integer between 0 and 65535, got "eighty"/);
    const smtp = await cli(['doctor'], { SMTP_URL: 'smtp://127.0.0.1:1', ...(process.env.TEST_REDIS_URL ? {} : { REDIS_URL: 'redis://127.0.0.1:1' }) });
    expect(smtp.stdout).toMatch(/FAIL {2}SMTP: cannot connect to 127.0.0.1:1/);
    if (!process.env.TEST_REDIS_URL) expect(smtp.stdout).toMatch(/FAIL {2}Redis: cannot connect to 127.0.0.1:1/);
    const good = await cli(['doctor'], process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {});
    expect(good.stdout).toMatch(/no problems found/);
    expect(good.code ?? 0).toBe(0);
  }, 180_000);
});
