import { Migration } from '@mikro-orm/migrations';

/** Enterprise SSO: connections per organization (OIDC, SAML), their email domains, seen SAML ids. */
export class Migration20261201000300 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table sso_connections (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      organization_id varchar(26) not null references organizations(id) on delete cascade deferrable initially deferred,
      kind varchar(8) not null,
      name varchar(200) not null,
      enabled boolean not null,
      default_role varchar(16) not null,
      settings jsonb not null,
      secret_sealed text null)`);
    this.addSql(`create index sso_connections_organization_id_index on sso_connections (organization_id)`);
    this.addSql(`create table sso_domains (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      connection_id varchar(26) not null references sso_connections(id) on delete cascade deferrable initially deferred,
      organization_id varchar(26) not null,
      domain varchar(253) not null unique,
      verification_token varchar(64) not null,
      verified_at timestamptz null,
      sso_required boolean not null)`);
    this.addSql(`create index sso_domains_connection_id_index on sso_domains (connection_id)`);
    this.addSql(`create table sso_seen_ids (
      key varchar(400) primary key,
      value varchar(64) not null,
      expires_at timestamptz not null)`);
    this.addSql(`create index sso_seen_ids_expires_at_index on sso_seen_ids (expires_at)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists sso_seen_ids`);
    this.addSql(`drop table if exists sso_domains`);
    this.addSql(`drop table if exists sso_connections`);
  }
}
