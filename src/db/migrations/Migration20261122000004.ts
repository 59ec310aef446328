import { Migration } from '@mikro-orm/migrations';

/** API keys and personal access tokens (only hashes of secrets). */
export class Migration20261122000004 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table api_keys (
      id varchar(32) primary key,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      name varchar(200) not null,
      key_hash varchar(64) not null,
      start varchar(40) not null,
      previous_key_hash varchar(64) null,
      previous_expires_at timestamptz null,
      organization_id varchar(26) null references organizations(id) on delete cascade deferrable initially deferred,
      client_organization_id varchar(26) null references organizations(id) on delete cascade deferrable initially deferred,
      pinned_organization_id varchar(26) null references organizations(id) on delete cascade deferrable initially deferred,
      created_by_user_id varchar(26) not null references users(id) on delete cascade deferrable initially deferred,
      scopes jsonb not null,
      metadata jsonb not null default '{}',
      rate_limit_per_minute integer null,
      remaining bigint null,
      remaining_period bigint not null default 0,
      credits_generation integer not null default 0,
      refill_interval varchar(8) null,
      refill_amount bigint null,
      enabled boolean not null default true,
      expires_at timestamptz null,
      last_used_at timestamptz null,
      revoked_at timestamptz null)`);
    // The hot path's cold lookup: one index probe by hash, current or (during a grace period) previous.
    this.addSql(`create unique index api_keys_key_hash_unique on api_keys (key_hash)`);
    this.addSql(`create unique index api_keys_previous_key_hash_unique on api_keys (previous_key_hash) where previous_key_hash is not null`);
    // Lists page newest first by id, per organization and per creator (personal tokens).
    this.addSql(`create index api_keys_organization_id_id_index on api_keys (organization_id, id)`);
    this.addSql(`create index api_keys_created_by_user_id_id_index on api_keys (created_by_user_id, id)`);
    this.addSql(`create index api_keys_client_organization_id_index on api_keys (client_organization_id) where client_organization_id is not null`);
    this.addSql(`create index api_keys_pinned_organization_id_index on api_keys (pinned_organization_id) where pinned_organization_id is not null`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists api_keys`);
  }
}
