// A forked EntityManager per request: no identity map is shared between requests.
import type { Interceptor } from '@connectrpc/connect';
import { type MikroORM, RequestContext } from '@mikro-orm/core';

export const ormContextInterceptor =
  (orm: MikroORM): Interceptor =>
  (next) =>
  (req) =>
    RequestContext.create(orm.em, () => next(req));
