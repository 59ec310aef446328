import { defineEntity, p } from '@mikro-orm/core';
import { UserSchema } from '../account/user.entity.js';
import { baseProperties } from '../common/base.entity.js';
import { SessionSchema } from './session.entity.js';

/** One refresh token; the tokens of a session form its rotation family. */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    ...baseProperties,
    sessionId: p.manyToOne(SessionSchema).mapToPk().fieldName('session_id').deleteRule('cascade').deferMode('deferred').index(),
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').index(),
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: p.string().length(64).unique(),
    expiresAt: p.datetime(),
    /** Set when it was exchanged for a new pair; presenting it again later is theft. */
    usedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export class RefreshToken extends RefreshTokenSchema.class {}
RefreshTokenSchema.setClass(RefreshToken);
