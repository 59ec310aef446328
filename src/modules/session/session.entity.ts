import { defineEntity, p } from '@mikro-orm/core';
import { UserSchema } from '../account/user.entity.js';
import { baseProperties } from '../common/base.entity.js';

export const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    ...baseProperties,
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').index(),
    /** SHA-256 of the cookie token; the token itself is never stored. */
    tokenHash: p.string().length(64).unique(),
    userAgent: p.string().length(512).default(''),
    ip: p.string().length(64).default(''),
    lastSeenAt: p.datetime(),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    /** When a second factor (TOTP, recovery code, passkey) was last used in this session: step-up checks it. */
    secondFactorAt: p.datetime().nullable(),
  },
});

export class Session extends SessionSchema.class {}
SessionSchema.setClass(Session);
