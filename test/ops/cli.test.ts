// The test server's SECRET is passed so the CLI can open the signing keys it sealed.
// The operator CLI spawned as a child process against the embedded database, or PostgreSQL when
// TEST_DATABASE_URL is set: migrations, organizations, and doctor naming what is wrong.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { onRealPostgres, startServer } from '../helpers/server.js';

const run = promisify(execFile);
let dataDir: string;
let databaseUrl: string | undefined;

const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['bin/latchkey.js', ...args], {
    timeout: 120_000,
    env: { PATH: process.env.PATH!, DATA_DIR: dataDir, LOG_LEVEL: 'silent', SECRET: 'latchkey-test-secret-0123456789-abcdefghij', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...env },
  })
    .then((r): { stdout: string; stderr: string; code?: number } => r)
    .catch((e) => e as { stdout: string; stderr: string; code: number });

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
  });

  it('org create and list, with a user signed up through the server', async () => {
    const server = await startServer({ dataDir, databaseUrl });
    const email = uniqueEmail('cli');
    await signUpAndIn(server.url, 'Cli Owner', email);
    await server.stop();
    const created = await cli(['org', 'create', '--name', 'Acme Ops', '--owner', email, '--slug', 'acme-ops']);
    expect(created.stderr ?? '').toBe('');
    const org = JSON.parse(created.stdout);
    expect(org).toMatchObject({ name: 'Acme Ops', slug: 'acme-ops', type: 'team' });
    const list = (await cli(['org', 'list'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(list).toContainEqual(org);
    const nobody = await cli(['org', 'create', '--name', 'X', '--owner', 'nobody@example.com']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/no user with email nobody@example.com/);
  });

  it('doctor names a broken setting, an unreachable SMTP server, and passes a good setup', async () => {
    const bad = await cli(['doctor'], { PORT: 'eighty' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}configuration: PORT must be an integer between 0 and 65535, got "eighty"/);
    const smtp = await cli(['doctor'], { SMTP_URL: 'smtp://127.0.0.1:1' });
    expect(smtp.stdout).toMatch(/FAIL {2}SMTP: cannot connect to 127.0.0.1:1/);
    const good = await cli(['doctor'], process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {});
    expect(good.stdout).toMatch(/no problems found/);
    expect(good.code ?? 0).toBe(0);
  });
});
