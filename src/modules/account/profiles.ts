// What GetMe shows — the user and how many organizations they belong to — cached so a request
// authenticated by a key, JWT or cookie reads no database when warm. A write to a user or membership
// row (seen by a MikroORM subscriber) drops the entry here; a suspension (is_active) or a membership
// change also goes out on the invalidation bus once committed, so every replica drops that user's
// sessions, keys, roles and profile. Org-module invalidations arrive through the bus as well.

import type { EventArgs, EventSubscriber, FlushEventArgs, TransactionEventArgs } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Invalidation, InvalidationBus } from '../common/bus.js';
import { Cache, type CacheContext } from '../common/cache.js';
import { Membership } from '../org/membership.entity.js';
import type { OrgService } from '../org/org.service.js';
import type { AccountService } from './account.service.js';
import { User } from './user.entity.js';

export interface Profile {
  user: User;
  organizationCount: number;
}

const TTL_MS = 15_000;

type Watched = User | Membership;

export class Profiles implements EventSubscriber<Watched> {
  private readonly cache: Cache<Profile>;
  /** Users whose suspension or memberships changed in a flush not yet committed. */
  private readonly changed = new Set<string>();

  constructor(
    private readonly accounts: AccountService,
    private readonly orgs: OrgService,
    em: EntityManager,
    caches: CacheContext,
    private readonly bus: InvalidationBus,
  ) {
    this.cache = new Cache(caches, { max: 100_000, ttlMs: TTL_MS });
    em.getEventManager().registerSubscriber(this);
    bus.subscribe((inv) => this.apply(inv));
  }

  async get(userId: string): Promise<Profile> {
    return this.cache.get(userId, async () => {
      const [user, organizationCount] = await Promise.all([this.accounts.get(userId), this.orgs.countForUser(userId)]);
      return { user, organizationCount };
    });
  }

  /** One user's entry, or every entry (a change to an organization touches all its members). */
  invalidate(userId?: string): void {
    if (userId) this.cache.delete(userId);
    else this.cache.clear();
  }

  private apply(inv: Invalidation): void {
    if ('userId' in inv) this.invalidate(inv.userId);
    else if ('organizationId' in inv || 'all' in inv) this.invalidate();
  }

  getSubscribedEntities() {
    return [User, Membership];
  }

  private onChange({ entity, changeSet }: EventArgs<Watched>, deleted = false): void {
    const userId = entity instanceof Membership ? entity.userId : entity.id;
    this.invalidate(userId);
    const announce = entity instanceof Membership || deleted || (changeSet?.type === 'update' && 'isActive' in (changeSet.payload ?? {}));
    if (announce) this.changed.add(userId);
  }

  afterCreate = (args: EventArgs<Watched>) => this.onChange(args);
  afterUpdate = (args: EventArgs<Watched>) => this.onChange(args);
  afterDelete = (args: EventArgs<Watched>) => this.onChange(args, true);

  // Announce only what is committed: another replica reloading earlier would cache the old row.
  afterFlush = ({ em }: FlushEventArgs) => {
    if (!em.isInTransaction()) this.announce();
  };
  afterTransactionCommit = (_: TransactionEventArgs) => this.announce();

  private announce(): void {
    const users = [...this.changed];
    this.changed.clear();
    for (const userId of users) this.bus.invalidate({ userId });
  }
}
