// MfaService: parse, call the second-factor module, map. CompleteSecondFactor answers like SignIn
// (cookie + access/refresh pair).
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { MfaService, PasskeySchema } from '../../../gen/latchkey/v1/mfa_pb.js';
import { unauthorized } from '../../modules/common/errors.js';
import type { Passkey } from '../../modules/mfa/entities.js';
import type { SecondFactors } from '../../modules/mfa/index.js';
import type { OrgService } from '../../modules/org/org.service.js';
import { sessionCookie } from '../cookies.js';
import { toUser } from '../mappers/account.js';
import { ts } from '../mappers/time.js';
import { clientOf, principalOf } from './caller.js';

export interface MfaHandlerDeps {
  mfa: SecondFactors;
  orgs: OrgService;
  cookie: { ttlSeconds: number; secure: boolean };
}

const toPasskey = (p: Passkey): MessageInitShape<typeof PasskeySchema> => ({ id: p.id, name: p.name, createTime: ts(p.createdAt), lastUsedTime: ts(p.lastUsedAt), backedUp: p.backedUp });

/** The session the call comes with (cookie or sign-in token): the access rule already refused keys. */
function sessionOf(ctx: HandlerContext): { userId: string; sessionId: string } {
  const p = principalOf(ctx);
  if (p.kind !== 'apiKey' && p.sessionId) return { userId: p.userId, sessionId: p.sessionId };
  throw unauthorized('This needs a signed-in session', 'SESSION_REQUIRED');
}

export function mfaHandlers({ mfa, orgs, cookie }: MfaHandlerDeps): ServiceImpl<typeof MfaService> {
  return {
    async getSecondFactors(_req, ctx) {
      const p = principalOf(ctx);
      const s = await mfa.summary(p.userId, p.kind === 'apiKey' ? undefined : p.sessionId);
      return { totpEnabled: s.totpEnabled, recoveryCodesRemaining: s.recoveryCodesRemaining, passkeys: s.passkeys.map(toPasskey), secondFactorTime: ts(s.secondFactorAt) };
    },

    async enrollTotp(_req, ctx) {
      const e = await mfa.enrolTotp(principalOf(ctx), clientOf(ctx));
      return { secret: e.secret, otpauthUri: e.uri, qrCodeDataUrl: e.qrCodeDataUrl };
    },

    async confirmTotp(req, ctx) {
      const { userId, sessionId } = sessionOf(ctx);
      return { recoveryCodes: await mfa.confirmTotp(userId, sessionId, req.code, clientOf(ctx)) };
    },

    async disableTotp(req, ctx) {
      await mfa.disableTotp(principalOf(ctx).userId, req.code, clientOf(ctx));
      return {};
    },

    async regenerateRecoveryCodes(req, ctx) {
      return { recoveryCodes: await mfa.regenerateRecoveryCodes(principalOf(ctx).userId, req.code, clientOf(ctx)) };
    },

    async completeSecondFactor(req, ctx) {
      const s = await mfa.complete(req.challengeToken, { code: req.code, passkeyResponseJson: req.passkeyResponseJson }, clientOf(ctx));
      ctx.responseHeader.append('set-cookie', sessionCookie(s.token, cookie.ttlSeconds, cookie.secure));
      return {
        user: toUser(s.user, await orgs.countForUser(s.user.id)),
        accessToken: s.accessToken,
        refreshToken: s.refreshToken,
        accessTokenExpiresAt: ts(s.accessTokenExpiresAt),
        sessionId: s.session.id,
      };
    },

    async startPasskeyAssertion(req, ctx) {
      return mfa.assertionOptions(req.challengeToken, clientOf(ctx));
    },

    async startPasskeyStepUp(_req, ctx) {
      return mfa.stepUpOptions(sessionOf(ctx).userId);
    },

    async stepUp(req, ctx) {
      const { userId, sessionId } = sessionOf(ctx);
      const until = await mfa.stepUp(userId, sessionId, { code: req.code, challengeToken: req.challengeToken, passkeyResponseJson: req.passkeyResponseJson }, clientOf(ctx));
      return { validUntil: ts(until) };
    },

    async startPasskeyRegistration(_req, ctx) {
      return mfa.passkeyRegistrationOptions(principalOf(ctx), clientOf(ctx));
    },

    async addPasskey(req, ctx) {
      const pk = await mfa.addPasskey(principalOf(ctx).userId, req.challengeToken, req.responseJson, req.name, clientOf(ctx));
      return { passkey: toPasskey(pk) };
    },

    async listPasskeys(_req, ctx) {
      return { passkeys: (await mfa.summary(principalOf(ctx).userId)).passkeys.map(toPasskey) };
    },

    async renamePasskey(req, ctx) {
      return { passkey: toPasskey(await mfa.renamePasskey(principalOf(ctx).userId, req.passkeyId, req.name, clientOf(ctx))) };
    },

    async deletePasskey(req, ctx) {
      await mfa.removePasskey(principalOf(ctx), req.passkeyId, clientOf(ctx));
      return {};
    },
  };
}
