// The operator CLI (`latchkey <command>`): the server's own config (loadConfig) and services
// (createDeps / openDatabase), so a command does exactly what the server would.

import { Command } from 'commander';
import { openDatabase } from '../db/orm.js';
import { createLogger } from '../log.js';
import { Organization } from '../modules/org/organization.entity.js';
import { migrateUp, migrationStatus } from '../ops/migrate.js';
import { auditExport } from './audit-export.js';
import { CliError, config, OPERATOR, print, withDeps } from './context.js';
import { doctor } from './doctor.js';
import { bootstrap, mintKey, revokeKey, rotateSigningKey } from './keys.js';

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

program
  .command('bootstrap')
  .description('on an empty database: the first user, an organization with them as root_admin, and an admin API key (its secret printed once)')
  .requiredOption('--email <email>', "the first user's email (verified: the operator vouches for it)")
  .option('--name <name>', "the user's display name", '')
  .requiredOption('--org <name>', "the organization's name")
  .option('--slug <slug>', "the organization's URL slug")
  .option('--type <type>', 'organization type', 'team')
  .option('--scopes <list>', "the key's scopes, comma-separated (default read,write: everything the root_admin may do)")
  .option('--password-stdin', "read the user's password from stdin (otherwise they sign in with a magic link or code)")
  .action(bootstrap);

program
  .command('mint-key')
  .description('create an organization API key and print its secret once')
  .requiredOption('--org <id|slug>', 'the organization')
  .requiredOption('--name <name>', "the key's name")
  .option('--scopes <list>', 'comma-separated scopes (default read,write)')
  .option('--expires-in <duration>', '90d, 12h, 30m, seconds, or never', 'never')
  .option('--as <email>', "the key's creator, whose role bounds its scopes (default: the organization's first root_admin)")
  .action(mintKey);

program.command('revoke-key').description('revoke an API key (every replica drops it from its cache at once with REDIS_URL)').argument('<key-id>', 'ak_…').action(revokeKey);

program.command('rotate-signing-key').description('replace the JWT signing key now; the old one keeps verifying the tokens it signed until they expire').action(rotateSigningKey);

const audit = program.command('audit').description('the audit log');
audit
  .command('export')
  .description('audit events as NDJSON on stdout, newest first, organization by organization')
  .option('--org <id|slug>', 'one organization (default: all)')
  .option('--type <type>', 'one event type, e.g. api_key.revoked')
  .option('--since <time>', 'events at or after this time (ISO 8601)')
  .option('--until <time>', 'events before this time (ISO 8601)')
  .action(auditExport);

const org = program.command('org').description('organizations');
org
  .command('list')
  .description('every organization as NDJSON')
  .action(() =>
    withDeps(async (deps) => {
      const em = deps.db.orm.em.fork();
      for (const o of await em.find(Organization, {}, { orderBy: { id: 'asc' } })) print({ id: o.id, name: o.name, slug: o.slug, type: o.type });
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
      const user = await deps.accounts.findByEmail(o.owner.toLowerCase());
      if (!user) throw new CliError(`no user with email ${o.owner}`);
      const created = await deps.orgs.create(user.id, { name: o.name, slug: o.slug, type: o.type }, OPERATOR);
      print({ id: created.id, name: created.name, slug: created.slug, type: created.type });
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
  // An operator's mistake is one line; anything else keeps its stack for the bug report.
  console.error(`latchkey: ${e instanceof CliError || !(e instanceof Error) ? String(e instanceof Error ? e.message : e) : (e.stack ?? e.message)}`);
  process.exit(1);
});
