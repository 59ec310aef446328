// The operator CLI (`latchkey <command>`): the server's own config (loadConfig) and services
// (createDeps / openDatabase), so a command does exactly what the server would.

import { RequestContext } from '@mikro-orm/core';
import { Command } from 'commander';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/orm.js';
import { createDeps, type Deps } from '../deps.js';
import { createLogger } from '../log.js';
import { User } from '../modules/account/user.entity.js';
import { SYSTEM } from '../modules/audit/events.js';
import { Organization } from '../modules/org/organization.entity.js';
import { migrateUp, migrationStatus } from '../ops/migrate.js';
import { doctor } from './doctor.js';

function config(overrides: Record<string, string> = {}): Config {
  try {
    return loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...overrides });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`latchkey: invalid configuration: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}

/** Runs with the server's services in one ORM context, then closes everything. */
async function withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T> {
  const c = config();
  const deps = await createDeps(c, createLogger(c.logLevel));
  try {
    return await RequestContext.create(deps.db.orm.em, () => fn(deps));
  } finally {
    await deps.close();
  }
}

const program = new Command('latchkey').description('Latchkey operator commands (same configuration as the server: environment variables).');

const migrate = program.command('migrate').description('database migrations');
migrate
  .command('up')
  .description('apply pending migrations (under the PostgreSQL advisory lock)')
  .action(async () => {
    const c = config({ MIGRATE_ON_START: 'false' });
    const db = await openDatabase(c, createLogger(c.logLevel));
    try {
      const applied = await migrateUp(db.orm, c.databaseUrl);
      console.log(applied.length ? applied.map((n) => `applied ${n}`).join('\n') : 'up to date');
    } finally {
      await db.close();
    }
  });
migrate
  .command('status')
  .description('list executed and pending migrations')
  .action(async () => {
    const c = config({ MIGRATE_ON_START: 'false' });
    const db = await openDatabase(c, createLogger(c.logLevel));
    try {
      const s = await migrationStatus(db.orm);
      for (const n of s.executed) console.log(`executed ${n}`);
      for (const n of s.pending) console.log(`pending  ${n}`);
    } finally {
      await db.close();
    }
  });

const org = program.command('org').description('organizations');
org
  .command('list')
  .description('every organization as NDJSON')
  .action(() =>
    withDeps(async (deps) => {
      const em = deps.db.orm.em.fork();
      for (const o of await em.find(Organization, {}, { orderBy: { id: 'asc' } })) console.log(JSON.stringify({ id: o.id, name: o.name, slug: o.slug, type: o.type }));
    }),
  );
org
  .command('create')
  .description('create an organization owned by an existing user')
  .requiredOption('--name <name>', 'display name')
  .requiredOption('--owner <email>', 'email of the owning user')
  .option('--slug <slug>', 'URL slug')
  .option('--type <type>', 'organization type', 'team')
  .action((o: { name: string; owner: string; slug?: string; type: string }) =>
    withDeps(async (deps) => {
      const user = await deps.db.orm.em.fork().findOne(User, { email: o.owner.toLowerCase() });
      if (!user) throw new Error(`no user with email ${o.owner}`);
      const created = await deps.orgs.create(user.id, { name: o.name, slug: o.slug, type: o.type }, SYSTEM);
      console.log(JSON.stringify({ id: created.id, name: created.name, slug: created.slug, type: created.type }));
    }),
  );

program
  .command('doctor')
  .description('check configuration, database, Redis and SMTP; print what is wrong')
  .action(async () => {
    const problems = await doctor(process.env);
    process.exitCode = problems ? 1 : 0;
  });

program.parseAsync().catch((e) => {
  console.error(`latchkey: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
