import { Migration } from '@mikro-orm/migrations';

/** Accounts, organizations, memberships and sessions. */
export class Migration20261122000001 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table users (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      email varchar(320) not null unique,
      password_hash text null,
      full_name varchar(200) not null default '',
      handle varchar(64) not null unique,
      verified_at timestamptz null,
      is_active boolean not null default true,
      last_login_at timestamptz null)`);
    this.addSql(`create table organizations (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      name varchar(200) not null,
      slug varchar(64) not null unique,
      type varchar(32) not null,
      partner_id varchar(26) null references organizations(id) on delete set null deferrable initially deferred)`);
    this.addSql(`create index organizations_partner_id_index on organizations (partner_id)`);
    this.addSql(`create table memberships (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      organization_id varchar(26) not null references organizations(id) on delete cascade deferrable initially deferred,
      user_id varchar(26) not null references users(id) on delete cascade deferrable initially deferred,
      role varchar(16) not null,
      constraint memberships_organization_id_user_id_unique unique (organization_id, user_id))`);
    this.addSql(`create index memberships_user_id_index on memberships (user_id)`);
    this.addSql(`create table sessions (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      user_id varchar(26) not null references users(id) on delete cascade deferrable initially deferred,
      token_hash varchar(64) not null unique,
      user_agent varchar(512) not null default '',
      ip varchar(64) not null default '',
      last_seen_at timestamptz not null,
      expires_at timestamptz not null,
      revoked_at timestamptz null)`);
    this.addSql(`create index sessions_user_id_index on sessions (user_id)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists sessions`);
    this.addSql(`drop table if exists memberships`);
    this.addSql(`drop table if exists organizations`);
    this.addSql(`drop table if exists users`);
  }
}
