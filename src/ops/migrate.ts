// Migrations under a PostgreSQL advisory lock: replicas starting together on one database take
// turns, and each finds the others' migrations already applied. The lock is session-level on a
// connection of its own, so it covers the migrator's set-up (its tracking table) too.

import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';

/** pg_advisory_lock key: "latchkey" as a 64-bit number, so other applications' locks do not collide. */
const MIGRATION_LOCK_KEY = '7809911621089435001';

export interface MigrationStatus {
  executed: string[];
  pending: string[];
}

/**
 * Applies pending migrations; returns the names applied by this call. `databaseUrl` undefined =
 * the embedded database, which one process owns (its DATA_DIR), so no lock is needed.
 */
export async function migrateUp(orm: MikroORM, databaseUrl: string | undefined): Promise<string[]> {
  if (!databaseUrl) return (await orm.migrator.up()).map((m) => m.name);
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return (await orm.migrator.up()).map((m) => m.name);
  } finally {
    // Closing the session releases the lock even if the unlock fails.
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
  }
}

export async function migrationStatus(orm: MikroORM): Promise<MigrationStatus> {
  const executed = (await orm.migrator.getExecuted()).map((m) => m.name);
  const pending = (await orm.migrator.getPending()).map((m) => m.name);
  return { executed, pending };
}
