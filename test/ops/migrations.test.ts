// Migrations: the entities and the migrations describe one schema (no drift), every migration
// goes down and up again, MIGRATE_ON_START=false leaves the database alone, and (on PostgreSQL)
// replicas starting at once apply each migration exactly once under the advisory lock.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrationsList } from '../../src/db/migrations/index.js';
import { openDatabase } from '../../src/db/orm.js';
import { createLogger } from '../../src/log.js';
import { migrationStatus } from '../../src/ops/migrate.js';
import { onRealPostgres, startServer, type TestServer } from '../helpers/server.js';

const ALL = migrationsList.map((m) => m.name);
/** What MikroORM would change to make the database match the entities: nothing, strictly (no allowances). */
const drift = async (s: TestServer) => (await s.deps.db.orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s?.stop());

describe('migrations', () => {
  it('leave no difference between the entities and the database', async () => {
    expect(await migrationStatus(s.deps.db.orm)).toEqual({ executed: ALL, pending: [] });
    expect(await drift(s)).toBe('');
  });

  it('all go down and come back up to the same schema', async () => {
    const orm = s.deps.db.orm;
    await orm.migrator.down({ to: 0 });
    expect((await migrationStatus(orm)).executed).toEqual([]);
    const tables = await orm.em.fork().getConnection().execute(`select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations'`);
    expect(tables).toEqual([]);
    await orm.migrator.up();
    expect(await migrationStatus(orm)).toEqual({ executed: ALL, pending: [] });
    expect(await drift(s)).toBe('');
  });

  it('MIGRATE_ON_START=false leaves a new database unmigrated', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-nomigrate-'));
    const url = onRealPostgres ? await freshDatabase() : undefined;
    const config = loadConfig({ DATA_DIR: dataDir, MIGRATE_ON_START: 'false', LOG_LEVEL: 'silent', ...(url ? { DATABASE_URL: url } : {}) });
    const db = await openDatabase(config, createLogger('silent'));
    try {
      expect(await migrationStatus(db.orm)).toEqual({ executed: [], pending: ALL });
    } finally {
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
      if (url) await dropDatabase(url);
    }
  });

  it.skipIf(!onRealPostgres)('three replicas starting at once apply each migration once', async () => {
    const url = await freshDatabase();
    const dirs = await Promise.all([0, 1, 2].map(() => mkdtemp(path.join(os.tmpdir(), 'latchkey-race-'))));
    const dbs = await Promise.all(dirs.map((d) => openDatabase(loadConfig({ DATA_DIR: d, DATABASE_URL: url, LOG_LEVEL: 'silent' }), createLogger('silent'))));
    try {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const rows = (await c.query('select name from mikro_orm_migrations order by id')).rows.map((r) => r.name);
      await c.end();
      expect(rows).toEqual(ALL);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
      await dropDatabase(url);
    }
  });
});

async function freshDatabase(): Promise<string> {
  const name = `lk_mig_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL! });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropDatabase(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL! });
  await c.connect();
  await c.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`);
  await c.end();
}
