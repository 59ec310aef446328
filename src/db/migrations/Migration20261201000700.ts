import { Migration } from '@mikro-orm/migrations';

// Constraint names and defaults as the entities describe them, so the schema the entities give and
// the one the migrations build are the same (test/ops/migrations.test.ts compares them, strictly):
// foreign keys `<table>_<column>_foreign` and uniques `<table>_<column>_unique` (MikroORM's names;
// PostgreSQL named the inline ones `_fkey` / `_key`), remaining_period defaulting to 0 like the
// entity, and no database default on metadata (every insert writes it).
const FOREIGN_KEYS: [string, string][] = [
  ['organizations', 'partner_id'],
  ['memberships', 'organization_id'],
  ['memberships', 'user_id'],
  ['sessions', 'user_id'],
  ['one_time_tokens', 'user_id'],
  ['refresh_tokens', 'session_id'],
  ['refresh_tokens', 'user_id'],
  ['invitations', 'organization_id'],
  ['api_keys', 'organization_id'],
  ['api_keys', 'client_organization_id'],
  ['api_keys', 'pinned_organization_id'],
  ['api_keys', 'created_by_user_id'],
];
const UNIQUES: [string, string][] = [
  ['users', 'email'],
  ['users', 'handle'],
  ['organizations', 'slug'],
  ['sessions', 'token_hash'],
  ['refresh_tokens', 'token_hash'],
  ['invitations', 'token_hash'],
];

export class Migration20261201000700 extends Migration {
  override async up(): Promise<void> {
    for (const [t, c] of FOREIGN_KEYS) this.addSql(`alter table ${t} rename constraint ${t}_${c}_fkey to ${t}_${c}_foreign`);
    for (const [t, c] of UNIQUES) this.addSql(`alter table ${t} rename constraint ${t}_${c}_key to ${t}_${c}_unique`);
    this.addSql(`alter table api_keys alter column remaining_period set default '0'`);
    this.addSql(`alter table api_keys alter column metadata drop default`);
    this.addSql(`alter table audit_events alter column metadata drop default`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table audit_events alter column metadata set default '{}'`);
    this.addSql(`alter table api_keys alter column metadata set default '{}'`);
    this.addSql(`alter table api_keys alter column remaining_period drop default`);
    for (const [t, c] of UNIQUES) this.addSql(`alter table ${t} rename constraint ${t}_${c}_unique to ${t}_${c}_key`);
    for (const [t, c] of FOREIGN_KEYS) this.addSql(`alter table ${t} rename constraint ${t}_${c}_foreign to ${t}_${c}_fkey`);
  }
}
