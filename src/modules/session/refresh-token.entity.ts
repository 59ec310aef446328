import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';

/** One refresh token; the tokens of a session form its rotation family. */
export const RefreshTokenSchema = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    ...baseProperties,
    sessionId: p.string().length(26).index(),
    userId: p.string().length(26).index(),
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
