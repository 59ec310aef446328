// A pooled connection that dies while checked out is given back to the pool (which discards it).
// Kysely releases a transaction's connection only after COMMIT/ROLLBACK succeed, so without this
// every transaction caught by an outage leaked a pool slot, and after `max` of them the pool was
// empty for good: every request waited for a connection that never came.
import type { Pool, PoolClient } from 'pg';

export function releaseDeadClients(pool: Pool): void {
  pool.on('acquire', (client: PoolClient) => {
    // pg-pool assigns client.release right after this event: wrap it once that has happened.
    queueMicrotask(() => {
      const release = client.release.bind(client);
      let released = false;
      const onEnd = () => client.release(new Error('database connection lost while checked out'));
      client.release = (err?: Error | boolean) => {
        if (released) return;
        released = true;
        client.off('end', onEnd);
        release(err);
      };
      client.once('end', onEnd);
    });
  });
}
