// Passkeys (WebAuthn) with @simplewebauthn/server: registration with resident keys (so they also
// sign in without a password), assertions against the stored public key and signature counter.
// RP ID and origin come from PUBLIC_URL.
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Clock } from '../common/clock.js';
import { conflict, invalid, notFound } from '../common/errors.js';
import { Passkey } from './entities.js';

const RP_NAME = 'Latchkey';

export class Passkeys {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly publicUrl: () => string,
  ) {}

  private rp() {
    const u = new URL(this.publicUrl());
    return { id: u.hostname, origin: u.origin };
  }

  list(userId: string): Promise<Passkey[]> {
    return this.em.find(Passkey, { userId }, { orderBy: { id: 'asc' } });
  }

  async count(userId: string): Promise<number> {
    return this.em.count(Passkey, { userId });
  }

  async registrationOptions(user: { id: string; email: string; fullName?: string }) {
    const existing = await this.list(user.id);
    return generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: this.rp().id,
      userName: user.email,
      userDisplayName: user.fullName || user.email,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: transportsOf(p) })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
  }

  async register(userId: string, expectedChallenge: string, responseJson: string, name: string): Promise<Passkey> {
    const response = parse<RegistrationResponseJSON>(responseJson, 'responseJson');
    const rp = this.rp();
    let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      result = await verifyRegistrationResponse({ response, expectedChallenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: false });
    } catch (e) {
      throw invalid('responseJson', `does not verify: ${(e as Error).message.slice(0, 200)}`);
    }
    if (!result.verified) throw invalid('responseJson', 'does not verify');
    const { credential, credentialBackedUp } = result.registrationInfo;
    if (await this.em.findOne(Passkey, { credentialId: credential.id }, { fields: ['id'] })) throw conflict('This passkey is already registered');
    const row = this.em.create(Passkey, {
      userId,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: (credential.transports ?? []).join(','),
      name: name.trim() || 'Passkey',
      backedUp: credentialBackedUp,
      lastUsedAt: null,
    });
    await this.em.flush();
    return row;
  }

  /** Options for an assertion: the user's passkeys, or any discoverable one (userId undefined). */
  async assertionOptions(userId?: string) {
    const allow = userId ? (await this.list(userId)).map((p) => ({ id: p.credentialId, transports: transportsOf(p) })) : undefined;
    return generateAuthenticationOptions({ rpID: this.rp().id, allowCredentials: allow, userVerification: 'preferred' });
  }

  /**
   * The passkey an assertion proves, or undefined when it does not verify (wrong key, challenge,
   * origin, a counter that went back). `userId`: only that user's passkeys count.
   */
  async verifyAssertion(responseJson: string, expectedChallenge: string, userId: string | undefined, requireUserVerification: boolean): Promise<Passkey | undefined> {
    let response: AuthenticationResponseJSON;
    try {
      response = JSON.parse(responseJson);
    } catch {
      return undefined;
    }
    if (typeof response?.id !== 'string') return undefined;
    const pk = await this.em.findOne(Passkey, { credentialId: response.id });
    if (!pk || (userId && pk.userId !== userId)) return undefined;
    const rp = this.rp();
    try {
      const r = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: { id: pk.credentialId, publicKey: Buffer.from(pk.publicKey, 'base64url'), counter: pk.counter, transports: transportsOf(pk) },
        requireUserVerification,
      });
      if (!r.verified) return undefined;
      pk.counter = r.authenticationInfo.newCounter;
      pk.lastUsedAt = this.clock.now();
      await this.em.flush();
      return pk;
    } catch {
      return undefined;
    }
  }

  async rename(userId: string, id: string, name: string): Promise<Passkey> {
    const pk = await this.em.findOne(Passkey, { id, userId });
    if (!pk) throw notFound('Passkey');
    pk.name = name.trim() || pk.name;
    await this.em.flush();
    return pk;
  }

  async remove(userId: string, id: string): Promise<void> {
    const n = await this.em.nativeDelete(Passkey, { id, userId });
    if (n !== 1) throw notFound('Passkey');
  }
}

const transportsOf = (p: Passkey) => (p.transports ? (p.transports.split(',') as AuthenticatorTransport[]) : undefined);

function parse<T>(json: string, field: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw invalid(field, 'must be JSON');
  }
}
