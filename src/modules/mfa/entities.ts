// Second factors at rest: a TOTP secret sealed under SECRET (AES-256-GCM, bound to the user id),
// recovery codes and challenge tokens as SHA-256 only, passkeys as their public keys.
import { defineEntity, p } from '@mikro-orm/core';
import { UserSchema } from '../account/user.entity.js';
import { baseProperties } from '../common/base.entity.js';

export const TotpFactorSchema = defineEntity({
  name: 'TotpFactor',
  tableName: 'mfa_totp',
  // One factor per user; declared here rather than on the property so the unique is not deferred like the foreign key.
  uniques: [{ name: 'mfa_totp_user_id_unique', properties: ['userId'] }],
  properties: {
    ...baseProperties,
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred'),
    /** The base32 secret, sealed; never serialized. */
    secretSealed: p.text().hidden(),
    /** Null while enrolment waits for its first code. */
    confirmedAt: p.datetime().nullable(),
    /** The last 30-second step a code was accepted for: that step and earlier ones are refused (replay). */
    lastUsedStep: p.bigint('number'),
  },
});
export class TotpFactor extends TotpFactorSchema.class {}
TotpFactorSchema.setClass(TotpFactor);

export const RecoveryCodeSchema = defineEntity({
  name: 'RecoveryCode',
  tableName: 'mfa_recovery_codes',
  properties: {
    ...baseProperties,
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').index(),
    codeHash: p.string().length(64).hidden(),
    usedAt: p.datetime().nullable(),
  },
});
export class RecoveryCode extends RecoveryCodeSchema.class {}
RecoveryCodeSchema.setClass(RecoveryCode);

export const PasskeySchema = defineEntity({
  name: 'Passkey',
  tableName: 'mfa_passkeys',
  properties: {
    ...baseProperties,
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').index(),
    /** WebAuthn credential id (base64url). */
    credentialId: p.string().length(512).unique(),
    /** COSE public key (base64url). */
    publicKey: p.text(),
    counter: p.bigint('number'),
    /** Comma-separated authenticator transports ("internal,hybrid"). */
    transports: p.string().length(200).default(''),
    name: p.string().length(100),
    backedUp: p.boolean().default(false),
    lastUsedAt: p.datetime().nullable(),
  },
});
export class Passkey extends PasskeySchema.class {}
PasskeySchema.setClass(Passkey);

/** What a challenge is for. */
export type ChallengePurpose = 'sign_in' | 'passwordless' | 'step_up' | 'passkey_registration';

export const MfaChallengeSchema = defineEntity({
  name: 'MfaChallenge',
  tableName: 'mfa_challenges',
  properties: {
    ...baseProperties,
    /** Null for a passwordless sign-in until the passkey names its user. */
    userId: p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').deferMode('deferred').nullable(),
    tokenHash: p.string().length(64).unique().hidden(),
    purpose: p.string().length(32).$type<ChallengePurpose>(),
    /** How the first factor was given (password, magic_link, …), for the audit event. */
    method: p.string().length(32).default(''),
    /** The WebAuthn challenge (base64url) once options were issued. */
    webauthnChallenge: p.string().length(128).nullable(),
    attempts: p.integer().default(0),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});
export class MfaChallenge extends MfaChallengeSchema.class {}
MfaChallengeSchema.setClass(MfaChallenge);
