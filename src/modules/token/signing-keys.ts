// Ed25519 signing keys: stored in the database (private half sealed under SECRET), held in memory
// so verification never touches the database. The newest unretired key signs; a rotation retires
// it but keeps its public half until the last token it signed has expired.
import type { EntityManager } from '@mikro-orm/postgresql';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { ulid } from '../common/ids.js';
import { open, seal } from '../common/sealing.js';

/** The database's signing keys were sealed under another SECRET: an operator's mistake, said as such at start. */
export class WrongSecretError extends Error {}

import { SigningKey } from './signing-key.entity.js';

export const ALG = 'EdDSA';
/** Other replicas may sign with a retired key until their next reload. */
const RETIRE_SLACK_MS = 5 * 60_000;
const RELOAD_EVERY_MS = 60_000;
const UNKNOWN_KID_RELOAD_MIN_MS = 5_000;
// Serialises rotations across replicas (pg_advisory_xact_lock key).
const ROTATION_LOCK = 0x4c4b5347;

export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: string;
  use: string;
}

interface LoadedKey {
  kid: string;
  jwk: PublicJwk;
  publicKey: CryptoKey;
  activatedAt: Date;
  retiredAt: Date | null;
  verifyUntil: Date | null;
}

export interface SigningKeysOptions {
  rotationDays: number;
  /** Longest lifetime of any token these keys sign. */
  maxTokenTtlSeconds: number;
}

export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private signing?: { kid: string; privateKey: CryptoKey; activatedAt: Date; privateJwk: JWK };
  private rotating?: Promise<void>;
  private reloading?: Promise<void>;
  private lastReload = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly root: EntityManager,
    private readonly sealKey: Buffer,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: SigningKeysOptions,
  ) {}

  /** Load the keys (creating the first one) and start the periodic reload / scheduled rotation. */
  async start(): Promise<void> {
    await this.reload();
    if (!this.signing || this.due(this.signing.activatedAt)) await this.rotate(false);
    this.timer = setInterval(() => void this.tick(), RELOAD_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The key to sign with now; rotates first when the current one is older than the rotation period. */
  async signer(): Promise<{ kid: string; privateKey: CryptoKey }> {
    if (!this.signing || this.due(this.signing.activatedAt)) await this.rotate(false);
    return this.signing!;
  }

  /**
   * The signing key as a private JWK (kid, alg, use set), for a signer that takes keys only in that
   * form (the OAuth provider). It never leaves the process.
   */
  async signingJwk(): Promise<JWK> {
    const s = await this.signer();
    return { ...this.signing!.privateJwk, kid: s.kid, alg: ALG, use: 'sig' };
  }

  /** Public key for a `kid`; an unknown kid (a key another replica just made) triggers one reload. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    const known = this.keys.get(kid);
    if (known) return this.live(known) ? known.publicKey : undefined;
    if (Date.now() - this.lastReload >= UNKNOWN_KID_RELOAD_MIN_MS) await this.reloadOnce();
    const k = this.keys.get(kid);
    return k && this.live(k) ? k.publicKey : undefined;
  }

  /** Every key that may still verify a live token, the signing key first. */
  jwks(): PublicJwk[] {
    return [...this.keys.values()]
      .filter((k) => this.live(k))
      .sort((a, b) => b.activatedAt.getTime() - a.activatedAt.getTime())
      .map((k) => k.jwk);
  }

  /**
   * Replace the signing key. `force` rotates even when the current key is not due (on demand, e.g.
   * after a suspected leak); otherwise only a due key is replaced, once across all replicas.
   */
  rotate(force = true): Promise<void> {
    this.rotating ??= this.doRotate(force).finally(() => (this.rotating = undefined));
    return this.rotating;
  }

  private async doRotate(force: boolean): Promise<void> {
    const now = this.clock.now();
    const kid = ulid(now.getTime());
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
    const sealed = seal(this.sealKey, JSON.stringify(await exportJWK(privateKey)), kid);
    const verifyUntil = new Date(now.getTime() + this.opts.maxTokenTtlSeconds * 1000 + RETIRE_SLACK_MS);
    const rotated = await this.root.fork().transactional(async (tx) => {
      await tx.execute('select pg_advisory_xact_lock(?)', [ROTATION_LOCK]);
      const active = await tx.find(SigningKey, { retiredAt: null }, { orderBy: { activatedAt: 'desc' } });
      if (!force && active[0] && !this.due(active[0].activatedAt)) return false; // another replica just rotated
      for (const k of active) Object.assign(k, { retiredAt: now, verifyUntil });
      tx.create(SigningKey, { id: kid, algorithm: ALG, publicJwk: JSON.stringify(publicJwk), privateJwk: sealed, activatedAt: now, retiredAt: null, verifyUntil: null });
      return true;
    });
    if (rotated) this.log.info({ kid }, 'signing key rotated');
    await this.reload();
  }

  private reloadOnce(): Promise<void> {
    this.reloading ??= this.reload().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reload(): Promise<void> {
    this.lastReload = Date.now();
    const now = this.clock.now();
    const rows = await this.root.fork().find(SigningKey, { $or: [{ retiredAt: null }, { verifyUntil: { $gt: now } }] }, { orderBy: { activatedAt: 'desc' } });
    const keys = new Map<string, LoadedKey>();
    for (const r of rows) {
      const jwk = JSON.parse(r.publicJwk) as PublicJwk;
      const publicKey = this.keys.get(r.id)?.publicKey ?? ((await importJWK(jwk, ALG)) as CryptoKey);
      keys.set(r.id, { kid: r.id, jwk, publicKey, activatedAt: r.activatedAt, retiredAt: r.retiredAt ?? null, verifyUntil: r.verifyUntil ?? null });
    }
    const current = rows.find((r) => !r.retiredAt);
    if (current && current.id !== this.signing?.kid) {
      let privateJwk: JWK;
      try {
        privateJwk = JSON.parse(open(this.sealKey, current.privateJwk, current.id));
      } catch {
        throw new WrongSecretError('Cannot decrypt the signing key: SECRET is not the one that created it (every replica needs the same SECRET)');
      }
      this.signing = { kid: current.id, privateKey: (await importJWK(privateJwk, ALG)) as CryptoKey, activatedAt: current.activatedAt, privateJwk };
    }
    this.keys = keys;
  }

  private async tick(): Promise<void> {
    try {
      if (this.signing && this.due(this.signing.activatedAt)) await this.rotate(false);
      else await this.reloadOnce();
    } catch (err) {
      this.log.error({ err }, 'signing key reload failed');
    }
  }

  private due(activatedAt: Date): boolean {
    return this.clock.now().getTime() - activatedAt.getTime() >= this.opts.rotationDays * 86_400_000;
  }

  private live(k: LoadedKey): boolean {
    return !k.verifyUntil || k.verifyUntil.getTime() > this.clock.now().getTime();
  }
}
