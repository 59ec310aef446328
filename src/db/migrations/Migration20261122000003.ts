import { Migration } from '@mikro-orm/migrations';

/** Invitations, the audit log, and the indexes the member and audit lists page on. */
export class Migration20261122000003 extends Migration {
  override async up(): Promise<void> {
    // Members are listed oldest first per organization; the keyset is the membership id.
    this.addSql(`create index memberships_organization_id_id_index on memberships (organization_id, id)`);
    this.addSql(`create table invitations (
      id varchar(26) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      organization_id varchar(26) not null references organizations(id) on delete cascade deferrable initially deferred,
      email varchar(320) not null,
      role varchar(16) not null,
      token_hash varchar(64) not null unique,
      invited_by_user_id varchar(26) not null,
      expires_at timestamptz not null,
      accepted_at timestamptz null,
      accepted_by_user_id varchar(26) null,
      revoked_at timestamptz null)`);
    this.addSql(`create index invitations_organization_id_id_index on invitations (organization_id, id)`);
    // At most one pending invitation per email and organization (re-inviting replaces it).
    this.addSql(`create unique index invitations_pending_unique on invitations (organization_id, email) where accepted_at is null and revoked_at is null`);
    // No foreign key to organizations: the trail outlives a deleted organization.
    this.addSql(`create table audit_events (
      id varchar(26) primary key,
      created_at timestamptz not null,
      organization_id varchar(26) not null,
      type varchar(64) not null,
      actor_type varchar(16) not null,
      actor_id varchar(64) not null default '',
      target_type varchar(32) not null default '',
      target_id varchar(64) not null default '',
      ip varchar(64) not null default '',
      user_agent varchar(512) not null default '',
      metadata jsonb not null default '{}')`);
    this.addSql(`create index audit_events_organization_id_id_index on audit_events (organization_id, id)`);
    this.addSql(`create index audit_events_organization_id_type_id_index on audit_events (organization_id, type, id)`);
    this.addSql(`create index audit_events_organization_id_created_at_index on audit_events (organization_id, created_at)`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists audit_events`);
    this.addSql(`drop table if exists invitations`);
    this.addSql(`drop index if exists memberships_organization_id_id_index`);
  }
}
