import { Migration } from '@mikro-orm/migrations';

/** OAuth 2.1 / OpenID Connect provider storage: oidc-provider's models in one table keyed by model + id. */
export class Migration20261201000100 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table oauth_records (
      model varchar(40) not null,
      id varchar(255) not null,
      payload jsonb not null,
      grant_id varchar(255) null,
      user_code varchar(255) null,
      uid varchar(255) null,
      expires_at timestamptz null,
      consumed_at timestamptz null,
      primary key (model, id))`);
    this.addSql(`create index oauth_records_grant_id_index on oauth_records (grant_id) where grant_id is not null`);
    this.addSql(`create index oauth_records_user_code_index on oauth_records (user_code) where user_code is not null`);
    this.addSql(`create index oauth_records_uid_index on oauth_records (uid) where uid is not null`);
    this.addSql(`create index oauth_records_expires_at_index on oauth_records (expires_at) where expires_at is not null`);
    // Clients of an organization and grants of a user are listed from the payload.
    this.addSql(`create index oauth_records_client_org_index on oauth_records ((payload->>'organization_id')) where model = 'Client'`);
    this.addSql(`create index oauth_records_grant_account_index on oauth_records ((payload->>'accountId')) where model = 'Grant'`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists oauth_records`);
  }
}
