// Turns the credentials a request carries into a Principal. Each kind of credential has one
// verifier; the bearer format tells a JWT from an API key.

import { unauthorized } from '../common/errors.js';
import type { Principal } from '../common/principal.js';
import type { SessionService } from './session.service.js';

export interface Credentials {
  sessionToken?: string;
  bearer?: string;
  apiKey?: string;
  /** Client address (X-Forwarded-For only from TRUSTED_PROXIES): API keys with an IP allowlist check it. */
  ip?: string;
}

/** Verifiers for the other kinds of credentials, registered by their modules. */
export interface BearerVerifier {
  /** True when the string has this verifier's format (cheap, no I/O). */
  recognises(credential: string): boolean;
  verify(credential: string, from?: { ip?: string }): Promise<Principal>;
}

export class Authenticator {
  private readonly bearers: BearerVerifier[] = [];

  constructor(private readonly sessions: SessionService) {}

  register(verifier: BearerVerifier): void {
    this.bearers.push(verifier);
  }

  /** undefined when the request carries no credential at all; throws 401 on a bad one. */
  async authenticate(c: Credentials): Promise<Principal | undefined> {
    const token = c.apiKey ?? c.bearer;
    if (token !== undefined) {
      const verifier = this.bearers.find((v) => v.recognises(token));
      if (!verifier) throw unauthorized(c.apiKey !== undefined ? 'Invalid API key' : 'Unrecognised bearer credential', c.apiKey !== undefined ? 'API_KEY_INVALID' : 'CREDENTIAL_INVALID');
      return verifier.verify(token, c);
    }
    if (c.sessionToken) {
      const s = await this.sessions.authenticate(c.sessionToken);
      if (!s) throw unauthorized('Session expired or signed out', 'SESSION_EXPIRED');
      return { kind: 'session', userId: s.userId, sessionId: s.sessionId };
    }
    return undefined;
  }
}
