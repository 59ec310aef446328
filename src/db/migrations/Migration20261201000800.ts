import { Migration } from '@mikro-orm/migrations';

// The features' tables (MFA, organization policies, SSO, webhooks, key usage) named the way the
// entities describe them, as Migration20261201000700 did for the core tables: foreign keys
// `<table>_<column>_foreign` and uniques `<table>_<column>_unique` (PostgreSQL named the inline ones
// `_fkey` / `_key`). Only renames: the constraints, their delete rules and the indexes stay as they are.
const FOREIGN_KEYS: [string, string][] = [
  ['mfa_totp', 'user_id'],
  ['mfa_recovery_codes', 'user_id'],
  ['mfa_passkeys', 'user_id'],
  ['mfa_challenges', 'user_id'],
  ['org_policies', 'organization_id'],
  ['sso_connections', 'organization_id'],
  ['sso_domains', 'connection_id'],
  ['webhook_endpoints', 'organization_id'],
  ['webhook_deliveries', 'endpoint_id'],
  ['webhook_deliveries', 'event_id'],
  ['api_key_usage', 'key_id'],
  ['api_key_sources', 'key_id'],
];
const UNIQUES: [string, string][] = [
  ['mfa_totp', 'user_id'],
  ['mfa_passkeys', 'credential_id'],
  ['mfa_challenges', 'token_hash'],
  ['org_policies', 'organization_id'],
  ['sso_domains', 'domain'],
];

export class Migration20261201000800 extends Migration {
  override async up(): Promise<void> {
    for (const [t, c] of FOREIGN_KEYS) this.addSql(`alter table ${t} rename constraint ${t}_${c}_fkey to ${t}_${c}_foreign`);
    for (const [t, c] of UNIQUES) this.addSql(`alter table ${t} rename constraint ${t}_${c}_key to ${t}_${c}_unique`);
  }

  override async down(): Promise<void> {
    for (const [t, c] of UNIQUES) this.addSql(`alter table ${t} rename constraint ${t}_${c}_unique to ${t}_${c}_key`);
    for (const [t, c] of FOREIGN_KEYS) this.addSql(`alter table ${t} rename constraint ${t}_${c}_foreign to ${t}_${c}_fkey`);
  }
}
