// Starts a real Latchkey server on port 0 for a test file: embedded PGlite in a temp DATA_DIR, or,
// when TEST_DATABASE_URL is set, a fresh database on that PostgreSQL server (dropped afterwards).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { createLogger } from '../../src/log.js';
import { OffsetClock } from '../../src/modules/common/clock.js';
import { listen, type Server } from '../../src/server.js';

export const onRealPostgres = !!process.env.TEST_DATABASE_URL;

export interface TestServer {
  url: string;
  port: number;
  /** The /metrics listener's port when METRICS_PORT is set. */
  metricsPort?: number;
  deps: Deps;
  config: Config;
  clock: OffsetClock;
  dataDir: string;
  databaseUrl?: string;
  /** Stop and start again on the same data (DATA_DIR or database). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function createDatabase(): Promise<string> {
  const admin = process.env.TEST_DATABASE_URL!;
  const name = `lk_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database ${name}`);
  await client.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL! });
  await client.connect();
  await client.query(`drop database if exists ${name} with (force)`);
  await client.end();
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Share another server's database (two replicas). */
  databaseUrl?: string;
  dataDir?: string;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const ownsData = !opts.dataDir && !opts.databaseUrl;
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'latchkey-test-')));
  const databaseUrl = opts.databaseUrl ?? (onRealPostgres ? await createDatabase() : undefined);
  const clock = new OffsetClock();
  let deps!: Deps;
  let server!: Server;
  let config!: Config;

  async function boot(port: number) {
    config = loadConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      SCRYPT_LOG_N: '10',
      SCRYPT_P: '1',
      // Hash in this process: a child process per test server costs start-up time on a loaded machine
      // (test/auth/hash-process.test.ts covers the separate hashing process, the production default).
      SCRYPT_PROCESS: 'false',
      // Files sign up many users from 127.0.0.1: throttles stay out of the way unless a test sets them.
      AUTH_IP_LIMIT: '1000000',
      AUTH_EMAIL_LIMIT: '1000000',
      // One SECRET for every server, so replicas sharing a database can open each other's signing keys.
      SECRET: 'latchkey-test-secret-0123456789-abcdefghij',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...opts.env,
    });
    deps = await createDeps(config, createLogger(config.logLevel), clock);
    server = await listen(deps);
    if (!opts.env?.PUBLIC_URL) config.publicUrl = server.url;
  }
  await boot(0);

  const t: TestServer = {
    get url() {
      return server.url;
    },
    get port() {
      return server.port;
    },
    get metricsPort() {
      return server.metricsPort;
    },
    get deps() {
      return deps;
    },
    get config() {
      return config;
    },
    clock,
    dataDir,
    databaseUrl,
    async restart() {
      const port = server.port;
      await server.close();
      await deps.close();
      await boot(port);
    },
    async stop() {
      await server.close();
      await deps.close();
      if (ownsData) {
        if (databaseUrl) await dropDatabase(databaseUrl);
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
  return t;
}
