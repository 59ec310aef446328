// Password hashing with scrypt-kdf: parameters travel inside each hash, the work runs behind a
// bounded queue, so a flood of sign-ins cannot starve other requests: in a separate process at a
// lower CPU priority (SCRYPT_PROCESS, the default; it may use every core, since the server's event
// loop comes first), or in this process's libuv thread pool.
import type { ScryptParams } from '../../config.js';
import { passwordQueueDepth, passwordQueueWait } from '../../metrics/registry.js';
import { invalid } from '../common/errors.js';
import { Semaphore } from '../common/limiter.js';
import { HashProcess } from './hash-process.js';
import { scrypt } from './scrypt.js';

const MIN_PASSWORD = 10;
const MAX_PASSWORD = 1024;

export function checkPassword(field: string, password: string): void {
  if (password.length < MIN_PASSWORD) throw invalid(field, `must be at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw invalid(field, `must be at most ${MAX_PASSWORD} characters`);
}

export class PasswordHasher {
  private readonly queue: Semaphore;
  private readonly worker?: HashProcess;
  private dummy?: Promise<string>;

  constructor(
    private readonly params: ScryptParams,
    concurrency: number,
    queueLimit: number,
    /** Hash in a lower-priority process with this many threads (undefined: in this process). */
    processThreads?: number,
  ) {
    if (processThreads) this.worker = new HashProcess(processThreads);
    this.queue = new Semaphore(processThreads ?? concurrency, queueLimit);
  }

  hash(password: string): Promise<string> {
    if (this.worker) return this.run(() => this.worker!.run({ op: 'kdf', password, params: this.params }) as Promise<string>);
    return this.run(async () => Buffer.from(await scrypt.kdf(password, this.params)).toString('base64'));
  }

  private check(stored: string, password: string): Promise<boolean> {
    if (this.worker) return this.worker.run({ op: 'verify', password, stored }) as Promise<boolean>;
    return scrypt.verify(Buffer.from(stored, 'base64'), password);
  }

  /** Ends the hashing process, if any. */
  close(): void {
    this.worker?.close();
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
      await this.run(() => this.check(stored!, password));
      return false;
    }
    return this.run(() => this.check(stored, password));
  }

  /** True when a hash was made with other parameters than today's (re-hash at next sign-in). */
  outdated(stored: string): boolean {
    const p = scrypt.viewParams(Buffer.from(stored, 'base64'));
    return p.logN !== this.params.logN || p.r !== this.params.r || p.p !== this.params.p;
  }
}
