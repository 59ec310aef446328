import { Migration } from '@mikro-orm/migrations';

/** Second factors (TOTP, recovery codes, passkeys, challenges), the session's last second factor, organization policies. */
export class Migration20261201000200 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table mfa_totp (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      user_id varchar(26) not null unique references users(id) on delete cascade deferrable initially deferred,
      secret_sealed text not null,
      confirmed_at timestamptz null,
      last_used_step bigint not null)`);
    this.addSql(`create table mfa_recovery_codes (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      user_id varchar(26) not null references users(id) on delete cascade deferrable initially deferred,
      code_hash varchar(64) not null,
      used_at timestamptz null)`);
    this.addSql(`create index mfa_recovery_codes_user_id_index on mfa_recovery_codes (user_id)`);
    this.addSql(`create table mfa_passkeys (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      user_id varchar(26) not null references users(id) on delete cascade deferrable initially deferred,
      credential_id varchar(512) not null unique,
      public_key text not null,
      counter bigint not null,
      transports varchar(200) not null default '',
      name varchar(100) not null,
      backed_up boolean not null default false,
      last_used_at timestamptz null)`);
    this.addSql(`create index mfa_passkeys_user_id_index on mfa_passkeys (user_id)`);
    this.addSql(`create table mfa_challenges (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      user_id varchar(26) null references users(id) on delete cascade deferrable initially deferred,
      token_hash varchar(64) not null unique,
      purpose varchar(32) not null,
      method varchar(32) not null default '',
      webauthn_challenge varchar(128) null,
      attempts integer not null default 0,
      expires_at timestamptz not null,
      used_at timestamptz null)`);
    this.addSql(`alter table sessions add column second_factor_at timestamptz null`);
    this.addSql(`create table org_policies (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      organization_id varchar(26) not null unique references organizations(id) on delete cascade deferrable initially deferred,
      require_second_factor varchar(16) not null default 'none',
      allowed_invitation_domains jsonb not null,
      max_session_seconds integer not null default 0,
      max_api_key_lifetime_seconds integer not null default 0,
      api_keys_must_expire boolean not null default false)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists org_policies`);
    this.addSql(`alter table sessions drop column if exists second_factor_at`);
    this.addSql(`drop table if exists mfa_challenges`);
    this.addSql(`drop table if exists mfa_passkeys`);
    this.addSql(`drop table if exists mfa_recovery_codes`);
    this.addSql(`drop table if exists mfa_totp`);
  }
}
