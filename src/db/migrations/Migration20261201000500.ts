import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 17 (keys): a per-key IP allowlist, usage counted per minute (rolled up to hours, kept 90 days)
 * and the networks each key was used from (new-source alerts).
 */
export class Migration20261201000500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table api_keys add column ip_allowlist jsonb null`);
    this.addSql(`create table api_key_usage (
      key_id varchar(32) not null references api_keys(id) on delete cascade,
      resolution varchar(6) not null,
      bucket timestamptz not null,
      organization_id varchar(26) null,
      valid bigint not null,
      rate_limited bigint not null,
      usage_exceeded bigint not null,
      expired bigint not null,
      revoked bigint not null,
      disabled bigint not null,
      forbidden bigint not null,
      primary key (key_id, resolution, bucket))`);
    // GetApiKeyUsage for a whole organization, and the roll-up / retention job, scan by time.
    this.addSql(`create index api_key_usage_organization_id_resolution_bucket_index on api_key_usage (organization_id, resolution, bucket)`);
    this.addSql(`create index api_key_usage_resolution_bucket_index on api_key_usage (resolution, bucket)`);
    this.addSql(`create table api_key_sources (
      key_id varchar(32) not null references api_keys(id) on delete cascade,
      network varchar(64) not null,
      first_seen_at timestamptz not null,
      last_seen_at timestamptz not null,
      alerted_at timestamptz null,
      primary key (key_id, network))`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists api_key_sources`);
    this.addSql(`drop table if exists api_key_usage`);
    this.addSql(`alter table api_keys drop column if exists ip_allowlist`);
  }
}
