import { Migration } from '@mikro-orm/migrations';

/** Emailed one-time tokens and codes, refresh tokens, and the signing keys of access tokens. */
export class Migration20261122000002 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table one_time_tokens (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      purpose varchar(32) not null,
      email varchar(320) not null,
      user_id varchar(26) null references users(id) on delete cascade deferrable initially deferred,
      token_hash varchar(64) not null,
      expires_at timestamptz not null,
      used_at timestamptz null,
      attempts integer not null default 0)`);
    this.addSql(`create index one_time_tokens_token_hash_index on one_time_tokens (token_hash)`);
    this.addSql(`create index one_time_tokens_email_purpose_index on one_time_tokens (email, purpose)`);
    this.addSql(`create index one_time_tokens_user_id_index on one_time_tokens (user_id)`);
    this.addSql(`create table refresh_tokens (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      session_id varchar(26) not null references sessions(id) on delete cascade deferrable initially deferred,
      user_id varchar(26) not null references users(id) on delete cascade deferrable initially deferred,
      token_hash varchar(64) not null unique,
      expires_at timestamptz not null,
      used_at timestamptz null,
      revoked_at timestamptz null)`);
    this.addSql(`create index refresh_tokens_session_id_index on refresh_tokens (session_id)`);
    this.addSql(`create index refresh_tokens_user_id_index on refresh_tokens (user_id)`);
    this.addSql(`create table signing_keys (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      algorithm varchar(16) not null,
      public_jwk text not null,
      private_jwk text not null,
      activated_at timestamptz not null,
      retired_at timestamptz null,
      verify_until timestamptz null)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists signing_keys`);
    this.addSql(`drop table if exists refresh_tokens`);
    this.addSql(`drop table if exists one_time_tokens`);
  }
}
