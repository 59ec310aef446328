// Several writes as ONE statement (data-modifying CTEs): atomic without BEGIN / COMMIT, one round trip.
import { EventType } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** A write: MikroORM's query builder, or SQL with `?` parameters. */
export interface Write {
  toQuery(): { sql: string; params: readonly unknown[] };
}

/**
 * Sends `writes` as one statement: every write but the last becomes a CTE named w0, w1, … (the last
 * may read their RETURNING rows by those names); the last write's rows are returned. The writes do
 * not see each other's changes, and foreign keys are checked at the end of the statement, so a
 * child row may reference a parent inserted alongside it.
 */
export async function writeAtOnce<T = Record<string, unknown>>(em: EntityManager, writes: Write[]): Promise<T[]> {
  const parts = writes.map((w) => w.toQuery());
  // In a transaction: the statement also answers the transaction id, which resolves an in-doubt
  // COMMIT (RetryingEntityManager), so that needs no statement of its own.
  const inTransaction = em.isInTransaction();
  const last = inTransaction ? { sql: 'select txid_current()::text as xid', params: [] } : parts.pop()!;
  const sql = parts.length ? `with ${parts.map((p, i) => `w${i} as (${p.sql})`).join(', ')} ${last.sql}` : last.sql;
  const rows = await em.execute<T[]>(sql, [...parts.flatMap((p) => p.params), ...last.params]);
  if (inTransaction) transactionIds.set(em, (rows[0] as { xid: string }).xid);
  return rows;
}

/** The transaction id a transaction's EntityManager learnt from writeAtOnce. */
export const transactionIds = new WeakMap<EntityManager, string>();

/**
 * Inserts every entity created (and not flushed) in `scratch`'s unit of work with one statement on
 * `em` (its transaction, if any). The entities are not managed afterwards: `scratch` is thrown away.
 */
export async function insertAtOnce(em: EntityManager, scratch: EntityManager): Promise<void> {
  const created = [...scratch.getUnitOfWork().getPersistStack()];
  await writeAtOnce(
    em,
    created.map((e) => em.createQueryBuilder(e.constructor as new () => object).insert({ ...e } as never)),
  );
  for (const entity of created) await written(em, EventType.afterCreate, entity);
}

/** Tell the ORM's subscribers about a row written without a flush, as a flush would (caches that watch the entity). */
export function written(em: EntityManager, type: EventType.afterCreate | EventType.afterUpdate, entity: object): Promise<unknown> {
  const meta = em.getMetadata().get(entity.constructor as never);
  return em.getEventManager().dispatchEvent(type, { entity, em, meta }, meta);
}

/** SQL with parameters, as a Write. */
export const sql = (text: string, params: readonly unknown[]): Write => ({ toQuery: () => ({ sql: text, params }) });
