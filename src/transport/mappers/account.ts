import { create } from '@bufbuild/protobuf';
import { type User as UserMsg, UserSchema } from '../../../gen/latchkey/v1/common_pb.js';
import type { User } from '../../modules/account/user.entity.js';
import { ts } from './time.js';

export function toUser(u: User, organizationCount: number): UserMsg {
  return create(UserSchema, {
    id: u.id,
    email: u.email,
    fullName: u.fullName,
    handle: u.handle,
    isVerified: !!u.verifiedAt,
    verifiedAt: ts(u.verifiedAt),
    isActive: u.isActive,
    lastLoginAt: ts(u.lastLoginAt),
    role: 'user',
    organizationCount,
    createdAt: ts(u.createdAt),
    updatedAt: ts(u.updatedAt),
  });
}
