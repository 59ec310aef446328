// Top-level transactions that survive the two transient failures a caller cannot fix:
// - a deadlock or serialization failure (40P01/40001) is retried a few times, on a fresh fork;
// - a connection lost during COMMIT leaves the outcome unknown: the transaction's id is taken
//   before COMMIT, and after a connection error its fate is asked with txid_status() once the
//   database answers again, so a committed write is reported as done, never as 503.
// Registered as MikroORM's `entityManager` class: every em.transactional() gets it.
import type { AsyncLocalStorage } from 'node:async_hooks';
import { type EntityManager as CoreEntityManager, DriverException, ForeignKeyConstraintViolationException, RequestContext, type TransactionOptions } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { DomainError } from '../modules/common/errors.js';
import { transactionIds } from '../modules/common/write-at-once.js';
import { isDatabaseUnavailable, isRetryableConflict } from './unavailable.js';

export interface TransactionSettings {
  log?: Logger;
  /** Attempts in all for a deadlocked transaction. */
  attempts: number;
  /** Resolve in-doubt commits with txid_status (a real server; the embedded one cannot drop a socket). */
  resolveInDoubt: boolean;
  /** How long an in-doubt commit waits for the database to answer again. */
  inDoubtWaitMs: number;
}

const settings = new WeakMap<object, TransactionSettings>();

export function configureTransactions(config: object, s: TransactionSettings): void {
  settings.set(config, s);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RetryingEntityManager extends EntityManager {
  override async transactional<T>(cb: (em: this) => T | Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const s = settings.get(this.config);
    // Nested calls join the outer transaction: only the outermost one may retry.
    if (!s || this.getContext(false).isInTransaction() || options.ctx) return super.transactional(cb, options);
    for (let attempt = 1; ; attempt++) {
      let xid: string | undefined;
      let result!: T;
      try {
        return await super.transactional(async (tx) => {
          result = await cb(tx);
          xid = transactionIds.get(tx as never);
          if (s.resolveInDoubt && !xid) {
            const rows = await tx.getConnection().execute<{ xid: string }[]>('select txid_current()::text as xid', [], 'all', tx.getTransactionContext());
            xid = rows[0].xid;
          }
          return result;
        }, options);
      } catch (e) {
        if (isRetryableConflict(e) && attempt < s.attempts) {
          s.log?.warn({ attempt, code: (e as { code?: string }).code }, 'transaction deadlocked or failed to serialize: retrying');
          await pause(5 + Math.random() * 20 * attempt);
          continue;
        }
        if (xid && isDatabaseUnavailable(e) && (await this.committed(xid, s))) return result;
        throw this.refine(e);
      }
    }
  }

  // Errors raised by COMMIT (deferred constraints) reach us unconverted: convert them like any other.
  // A foreign key that fails at this point lost its row to a concurrent request (a deleted organization).
  private refine(e: unknown): unknown {
    const converted =
      e instanceof Error && !(e instanceof DriverException) && !(e instanceof DomainError) && typeof (e as { code?: unknown }).code === 'string' ? this.getDriver().convertException(e) : e;
    if (converted instanceof ForeignKeyConstraintViolationException) {
      return new DomainError('CONFLICT', 'Something this request refers to was deleted by a concurrent request');
    }
    return converted;
  }

  /** Whether transaction `xid` committed, asked on a new connection; false when the database stays away. */
  private async committed(xid: string, s: TransactionSettings): Promise<boolean> {
    const end = Date.now() + s.inDoubtWaitMs;
    for (let wait = 100; Date.now() < end; wait = Math.min(wait * 2, 1_000)) {
      try {
        const [row] = await this.getConnection().execute<{ status: string | null }[]>('select txid_status(?::bigint) as status', [xid]);
        s.log?.warn({ xid, status: row?.status }, 'connection lost during commit: outcome checked');
        return row?.status === 'committed';
      } catch (e) {
        if (!isDatabaseUnavailable(e)) return false;
        await pause(wait);
      }
    }
    s.log?.error({ xid }, 'connection lost during commit and the database did not come back in time: outcome unknown');
    return false;
  }
}

/** The request's forks, made on first use: a call that never touches the database (a health check, a
 * warm cached read) costs no fork. MikroORM asks this map for the context's EntityManager by name. */
class LazyForks extends Map<string, CoreEntityManager> {
  constructor(private readonly root: CoreEntityManager) {
    super();
  }

  override get(name: string): CoreEntityManager | undefined {
    let em = super.get(name);
    // Forked outside the context, as RequestContext.create does (a fork asks the context for its EntityManager).
    if (!em && name === this.root.name) super.set(name, (em = storage.exit(() => this.root.fork({ useContext: true }))));
    return em;
  }
}

// RequestContext.create forks at once; its storage (public at run time, private in the types) takes
// a context whose fork waits for the first query.
const storage = (RequestContext as unknown as { storage: AsyncLocalStorage<RequestContext> }).storage;

/** Run `fn` in a request context of its own: the same isolation as RequestContext.create, forked lazily. */
export function inRequestContext<T>(root: CoreEntityManager, fn: () => T): T {
  return storage.run(new RequestContext(new LazyForks(root)), fn);
}
