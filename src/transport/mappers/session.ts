import { create } from '@bufbuild/protobuf';
import { type Session as SessionMsg, SessionSchema } from '../../../gen/latchkey/v1/common_pb.js';
import type { Session } from '../../modules/session/session.entity.js';
import { ts } from './time.js';

export function toSession(s: Session, currentSessionId?: string): SessionMsg {
  return create(SessionSchema, {
    id: s.id,
    userAgent: s.userAgent,
    ip: s.ip,
    current: s.id === currentSessionId,
    createdAt: ts(s.createdAt),
    lastSeenAt: ts(s.lastSeenAt),
    expiresAt: ts(s.expiresAt),
  });
}
