import { defineEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../common/base.entity.js';

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    ...baseProperties,
    /** Lower-cased; unique. */
    email: p.string().length(320).unique(),
    /** scrypt-kdf hash (base64), parameters inside; never serialized, never selected unless asked. */
    passwordHash: p.text().nullable().hidden().lazy(),
    fullName: p.string().length(200).default(''),
    handle: p.string().length(64).unique(),
    verifiedAt: p.datetime().nullable(),
    isActive: p.boolean().default(true),
    lastLoginAt: p.datetime().nullable(),
  },
});

export class User extends UserSchema.class {}
UserSchema.setClass(User);
