import { Migration } from '@mikro-orm/migrations';

/**
 * Webhooks (endpoints, the outbox of events written with the change, one delivery per event and
 * endpoint) and the markers that make each API-key expiry notice happen once across replicas.
 */
export class Migration20261201000400 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table webhook_endpoints (
      id varchar(32) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      organization_id varchar(26) not null references organizations(id) on delete cascade deferrable initially deferred,
      url varchar(2048) not null,
      description varchar(500) not null default '',
      event_types jsonb not null,
      enabled boolean not null default true,
      secret_sealed text not null,
      previous_secret_sealed text null,
      previous_secret_expires_at timestamptz null,
      created_by_user_id varchar(26) not null default '')`);
    this.addSql(`create index webhook_endpoints_organization_id_index on webhook_endpoints (organization_id)`);
    // No foreign key to organizations: an organization.deleted event outlives its organization.
    this.addSql(`create table webhook_events (
      id varchar(32) primary key,
      created_at timestamptz not null,
      organization_id varchar(26) not null,
      type varchar(64) not null,
      payload jsonb not null,
      endpoint_id varchar(32) null,
      dispatched_at timestamptz null)`);
    this.addSql(`create index webhook_events_undispatched_index on webhook_events (id) where dispatched_at is null`);
    this.addSql(`create table webhook_deliveries (
      id varchar(32) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      organization_id varchar(26) not null,
      endpoint_id varchar(32) not null references webhook_endpoints(id) on delete cascade deferrable initially deferred,
      event_id varchar(32) not null references webhook_events(id) on delete cascade deferrable initially deferred,
      event_type varchar(64) not null,
      status varchar(16) not null,
      attempts int not null default 0,
      window_start_at timestamptz not null,
      next_attempt_at timestamptz null,
      last_attempt_at timestamptz null,
      last_status_code int null,
      last_latency_ms int null,
      last_error varchar(500) not null default '',
      delivered_at timestamptz null,
      constraint webhook_deliveries_event_id_endpoint_id_unique unique (event_id, endpoint_id))`);
    this.addSql(`create index webhook_deliveries_due_index on webhook_deliveries (next_attempt_at) where status = 'pending'`);
    this.addSql(`create index webhook_deliveries_endpoint_id_id_index on webhook_deliveries (endpoint_id, id)`);
    this.addSql(`create table api_key_expiry_notices (
      key_id varchar(32) not null,
      threshold varchar(8) not null,
      expires_at timestamptz not null,
      created_at timestamptz not null,
      primary key (key_id, threshold, expires_at))`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists api_key_expiry_notices`);
    this.addSql(`drop table if exists webhook_deliveries`);
    this.addSql(`drop table if exists webhook_events`);
    this.addSql(`drop table if exists webhook_endpoints`);
  }
}
