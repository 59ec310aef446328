import { defineEntity, p } from '@mikro-orm/core';

/**
 * Everything oidc-provider stores (clients, grants, codes, tokens, sessions, interactions), one row per
 * model + id: the payload as jsonb, its expiry, and the lookups the provider makes by grant, user code
 * and session uid. Tokens the provider hands out are only stored here by their (random) ids.
 */
export const OAuthRecordSchema = defineEntity({
  name: 'OAuthRecord',
  tableName: 'oauth_records',
  // As the migration creates them (partial, two on payload fields): the provider's lookups, expiry
  // sweeps, and the lists of an organization's clients and an account's grants.
  indexes: [
    { name: 'oauth_records_grant_id_index', expression: 'create index oauth_records_grant_id_index on oauth_records (grant_id) where grant_id is not null' },
    { name: 'oauth_records_user_code_index', expression: 'create index oauth_records_user_code_index on oauth_records (user_code) where user_code is not null' },
    { name: 'oauth_records_uid_index', expression: 'create index oauth_records_uid_index on oauth_records (uid) where uid is not null' },
    { name: 'oauth_records_expires_at_index', expression: 'create index oauth_records_expires_at_index on oauth_records (expires_at) where expires_at is not null' },
    { name: 'oauth_records_client_org_index', expression: "create index oauth_records_client_org_index on oauth_records ((payload->>'organization_id')) where model = 'Client'" },
    { name: 'oauth_records_grant_account_index', expression: "create index oauth_records_grant_account_index on oauth_records ((payload->>'accountId')) where model = 'Grant'" },
  ],
  properties: {
    model: p.string().length(40).primary(),
    id: p.string().length(255).primary(),
    payload: p.json(),
    grantId: p.string().length(255).nullable(),
    userCode: p.string().length(255).nullable(),
    uid: p.string().length(255).nullable(),
    expiresAt: p.datetime().nullable(),
    consumedAt: p.datetime().nullable(),
  },
});

class OAuthRecord extends OAuthRecordSchema.class {}
OAuthRecordSchema.setClass(OAuthRecord);
