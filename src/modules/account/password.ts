// Password hashing with scrypt-kdf: parameters travel inside each hash, the work runs in the
// libuv thread pool behind a bounded queue, so a flood of sign-ins cannot starve other requests.
import * as scryptNs from 'scrypt-kdf';
import type { ScryptParams } from '../../config.js';
import { passwordQueueDepth, passwordQueueWait } from '../../metrics/registry.js';
import { invalid } from '../common/errors.js';
import { Semaphore } from '../common/limiter.js';

interface ScryptKdf {
  kdf(passphrase: string, params: { logN: number; r: number; p: number }): Promise<Uint8Array>;
  verify(key: Uint8Array, passphrase: string): Promise<boolean>;
  viewParams(key: Uint8Array): { logN: number; r: number; p: number };
}
// scrypt-kdf 4's type declarations do not describe its ESM default export.
const scrypt: ScryptKdf = (scryptNs as unknown as { default?: ScryptKdf }).default ?? (scryptNs as unknown as ScryptKdf);

const MIN_PASSWORD = 10;
const MAX_PASSWORD = 1024;

export function checkPassword(field: string, password: string): void {
  if (password.length < MIN_PASSWORD) throw invalid(field, `must be at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw invalid(field, `must be at most ${MAX_PASSWORD} characters`);
}

export class PasswordHasher {
  private readonly queue: Semaphore;
  private dummy?: Promise<string>;

  constructor(
    private readonly params: ScryptParams,
    concurrency: number,
    queueLimit: number,
  ) {
    this.queue = new Semaphore(concurrency, queueLimit);
  }

  hash(password: string): Promise<string> {
    return this.run(async () => Buffer.from(await scrypt.kdf(password, this.params)).toString('base64'));
  }

  /** The queue, measured: depth while waiting for a slot, and the wait itself. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const queued = performance.now();
    passwordQueueDepth.inc();
    let started = false;
    const begin = () => {
      started = true;
      passwordQueueDepth.dec();
      passwordQueueWait.observe((performance.now() - queued) / 1000);
    };
    return this.queue
      .run(() => {
        begin();
        return fn();
      })
      .finally(() => {
        if (!started) passwordQueueDepth.dec(); // refused: the queue was full
      });
  }

  /** Constant-effort check: with no stored hash, a dummy hash is verified so timing does not tell. */
  async verify(stored: string | null | undefined, password: string): Promise<boolean> {
    if (!stored) {
      this.dummy ??= this.hash('dummy password for unknown accounts');
      stored = await this.dummy;
      await this.run(() => scrypt.verify(Buffer.from(stored!, 'base64'), password));
      return false;
    }
    return this.run(() => scrypt.verify(Buffer.from(stored, 'base64'), password));
  }

  /** True when a hash was made with other parameters than today's (re-hash at next sign-in). */
  outdated(stored: string): boolean {
    const p = scrypt.viewParams(Buffer.from(stored, 'base64'));
    return p.logN !== this.params.logN || p.r !== this.params.r || p.p !== this.params.p;
  }
}
