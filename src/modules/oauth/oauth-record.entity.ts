import { defineEntity, p } from '@mikro-orm/core';

/**
 * Everything oidc-provider stores (clients, grants, codes, tokens, sessions, interactions), one row per
 * model + id: the payload as jsonb, its expiry, and the lookups the provider makes by grant, user code
 * and session uid. Tokens the provider hands out are only stored here by their (random) ids.
 */
export const OAuthRecordSchema = defineEntity({
  name: 'OAuthRecord',
  tableName: 'oauth_records',
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
