// What GetMe shows — the user and how many organizations they belong to — cached so a request
// authenticated by a key, JWT or cookie reads no database when warm. A write to a user or membership
// row (seen by a MikroORM subscriber) or a role invalidation of the org module (its bulk deletes)
// drops the entry; the short TTL bounds staleness for changes made on another replica.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventArgs, EventSubscriber } from '@mikro-orm/core';
import { TtlCache } from '../common/ttl-cache.js';
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
  private readonly cache = new TtlCache<Profile>(TTL_MS, 100_000);
  /** Bumped on every invalidation: a load that raced one does not store its stale answer. */
  private generation = 0;

  constructor(
    private readonly accounts: AccountService,
    private readonly orgs: OrgService,
    em: EntityManager,
  ) {
    em.getEventManager().registerSubscriber(this);
    orgs.onInvalidate((inv) => ('userId' in inv ? this.invalidate(inv.userId) : this.invalidate()));
  }

  async get(userId: string): Promise<Profile> {
    const hit = this.cache.get(userId);
    if (hit) return hit;
    const generation = this.generation;
    const [user, organizationCount] = await Promise.all([this.accounts.get(userId), this.orgs.countForUser(userId)]);
    const profile = { user, organizationCount };
    if (generation === this.generation) this.cache.set(userId, profile);
    return profile;
  }

  /** One user's entry, or every entry (a change to an organization touches all its members). */
  invalidate(userId?: string): void {
    this.generation++;
    if (userId) this.cache.delete(userId);
    else this.cache.clear();
  }

  getSubscribedEntities() {
    return [User, Membership];
  }

  private changed({ entity }: EventArgs<Watched>): void {
    this.invalidate(entity instanceof Membership ? entity.userId : entity.id);
  }

  afterCreate = this.changed;
  afterUpdate = this.changed;
  afterDelete = this.changed;
}
