import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';

/** An Ed25519 key that signs access tokens; its id is the JWT `kid`. */
export const SigningKeySchema = defineEntity({
  name: 'SigningKey',
  tableName: 'signing_keys',
  properties: {
    ...baseProperties,
    algorithm: p.string().length(16),
    /** Public JWK (JSON), published in the JWKS. */
    publicJwk: p.text(),
    /** Private JWK, sealed with AES-256-GCM under a key derived from SECRET; never serialized. */
    privateJwk: p.text().hidden(),
    /** When it started signing (the injectable clock, so rotation can be tested). */
    activatedAt: p.datetime(),
    /** When a newer key replaced it; null while it is the signing key. */
    retiredAt: p.datetime().nullable(),
    /** After this no token it signed can still be live: it leaves the JWKS. */
    verifyUntil: p.datetime().nullable(),
  },
});

export class SigningKey extends SigningKeySchema.class {}
SigningKeySchema.setClass(SigningKey);
