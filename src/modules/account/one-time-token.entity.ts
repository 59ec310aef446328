import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';
import { UserSchema } from './user.entity.js';

/** An emailed one-time secret: verification / magic / reset link token, or a 6-digit code. */
export const OneTimeTokenSchema = defineEntity({
  name: 'OneTimeToken',
  tableName: 'one_time_tokens',
  indexes: [
    { name: 'one_time_tokens_email_purpose_index', properties: ['email', 'purpose'] },
    { name: 'one_time_tokens_user_id_index', properties: ['userId'] },
  ],
  properties: {
    ...baseProperties,
    /** verify_email | magic_link | magic_code | password_reset */
    purpose: p.string().length(32),
    /** Lower-cased address it was sent to. */
    email: p.string().length(320),
    /** The account it acts on; null for a sign-up link to an address with no account yet. */
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').nullable(),
    /** SHA-256 of a link token, or HMAC of email+code (codes are too short for a bare hash). */
    tokenHash: p.string().length(64).index(),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    /** Redemption attempts (codes: at most 5). */
    attempts: p.integer().default(0),
  },
});

export class OneTimeToken extends OneTimeTokenSchema.class {}
OneTimeTokenSchema.setClass(OneTimeToken);
