// MikroORM over PostgreSQL: a real server (DATABASE_URL) or the embedded one; same migrations.

import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { migrateUp } from '../ops/migrate.js';
import { entities } from './entities.js';
import { configureTransactions, RetryingEntityManager } from './entity-manager.js';
import { migrationsList } from './migrations/index.js';
import { releaseDeadClients } from './pool.js';

export interface Database {
  orm: MikroORM;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  // PGlite (and its WebAssembly PostgreSQL) is loaded only when it is used: a real server never pays for it.
  const embedded = config.databaseUrl ? undefined : await (await import('./embedded.js')).startEmbeddedDatabase(config.dataDir);
  const orm = await MikroORM.init({
    clientUrl: config.databaseUrl ?? embedded!.url,
    entities,
    entityManager: RetryingEntityManager,
    extensions: [Migrator],
    // Hand-written migrations only: no schema snapshot files in the working directory.
    migrations: { migrationsList, transactional: true, allOrNothing: true, silent: true, snapshot: false },
    // PGlite runs one statement at a time: one connection avoids queueing inside the socket server.
    pool: embedded ? { min: 1, max: 1 } : { min: 1, max: 10 },
    // An outage must answer quickly (UNAVAILABLE), not queue requests forever: bound the wait for a
    // connection; keep-alive notices a peer that vanished. pg-pool replaces broken clients itself.
    driverOptions: { connectionTimeoutMillis: 5_000, keepAlive: true, onPoolCreated: releaseDeadClients },
    debug: false,
    allowGlobalContext: false,
    forceUtcTimezone: true,
  });
  configureTransactions(orm.config, { log, attempts: 4, resolveInDoubt: !embedded, inDoubtWaitMs: 15_000 });
  // Operators who migrate from the CLI (`latchkey migrate up`) set MIGRATE_ON_START=false.
  if (config.migrateOnStart) await migrateUp(orm, config.databaseUrl);
  log.info({ embedded: !!embedded }, embedded ? `embedded database in ${config.dataDir}` : 'connected to PostgreSQL');
  return {
    orm,
    embedded: !!embedded,
    async close() {
      await orm.close(true);
      await embedded?.stop();
    },
  };
}
