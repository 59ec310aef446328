// A forked EntityManager per request: no identity map is shared between requests. The fork is made
// on the first query, so calls that never reach the database do not pay for one.
import type { Interceptor } from '@connectrpc/connect';
import type { MikroORM } from '@mikro-orm/core';
import { inRequestContext } from '../../db/entity-manager.js';

export const ormContextInterceptor =
  (orm: MikroORM): Interceptor =>
  (next) =>
  (req) =>
    inRequestContext(orm.em, () => next(req));
