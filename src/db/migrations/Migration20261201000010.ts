import { Migration } from '@mikro-orm/migrations';

/** Who set a key's limits: a budget, rate limit or disable set above the creator's rank stays above it. */
export class Migration20261201000010 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table api_keys add column limits_set_by_role varchar(16) null`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table api_keys drop column if exists limits_set_by_role`);
  }
}
