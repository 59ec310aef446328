// deps.audit.record appends in the caller's unit of work: committed with the change, gone with a rollback.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readPage } from '../../src/modules/common/page-token.js';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let alice: TestUser;
const actor = { actorType: 'system' as const, actorId: '', ip: '203.0.113.9', userAgent: 'test' };

beforeAll(async () => {
  server = await startServer();
  alice = await signUpAndIn(server.url, 'Alice');
});
afterAll(() => server?.stop());

const list = (orgId: string, type?: string) => server.deps.db.orm.em.fork().transactional(() => server.deps.audit.list(orgId, readPage(0, ''), { type }));

test('an event recorded in a transaction that commits is listed, newest first', async () => {
  const em = server.deps.db.orm.em.fork();
  await em.transactional(async (tx) => {
    server.deps.audit.record(tx, { ...actor, organizationId: alice.organizationId, type: 'organization.updated', metadata: { n: 1 } });
    server.deps.audit.record(tx, { ...actor, organizationId: alice.organizationId, type: 'organization.updated', metadata: { n: 2 } });
  });
  const { items } = await list(alice.organizationId, 'organization.updated');
  expect(items.map((e) => e.metadata)).toEqual([{ n: 2 }, { n: 1 }]);
  expect(items[0].ip).toBe('203.0.113.9');
});

test('an event recorded in a transaction that rolls back is not written', async () => {
  const em = server.deps.db.orm.em.fork();
  await expect(
    em.transactional(async (tx) => {
      server.deps.audit.record(tx, { ...actor, organizationId: alice.organizationId, type: 'member.removed' });
      throw new Error('the change failed');
    }),
  ).rejects.toThrow('the change failed');
  expect((await list(alice.organizationId, 'member.removed')).items).toEqual([]);
});

test('a user-level event is recorded once in each organization of the user', async () => {
  const em = server.deps.db.orm.em.fork();
  const n = await server.deps.audit.recordForUser(em, alice.userId, { ...actor, type: 'session.revoked', targetType: 'session', targetId: 'x' });
  await em.flush();
  expect(n).toBe(1);
  expect((await list(alice.organizationId, 'session.revoked')).items).toHaveLength(1);
});
