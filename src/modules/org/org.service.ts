// Organizations and memberships.
import type { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { cut, type Page } from '../common/page-token.js';
import { Membership } from './membership.entity.js';
import { Organization } from './organization.entity.js';
import type { Role } from './roles.js';

export interface OrgWithRole {
  organization: Organization;
  role: Role;
}

export function slugify(name: string): string {
  const base = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return `${base || 'org'}-${randomBytes(4).toString('hex')}`;
}

export class OrgService {
  constructor(private readonly em: EntityManager) {}

  /** Create an organization with `userId` as its root_admin, inside the caller's transaction. */
  createWithOwner(tx: EntityManager, userId: string, name: string, type: string, slug?: string): Organization {
    const organization = tx.create(Organization, { name, slug: slug ?? slugify(name), type, partnerId: null });
    tx.create(Membership, { organizationId: organization.id, userId, role: 'root_admin' });
    return organization;
  }

  countForUser(userId: string): Promise<number> {
    return this.em.count(Membership, { userId });
  }

  async listForUser(userId: string, page: Page): Promise<{ items: OrgWithRole[]; next: string }> {
    const memberships = await this.em.find(
      Membership,
      { userId, ...(page.cursor ? { organizationId: { $gt: page.cursor.after } } : {}) },
      { orderBy: { organizationId: 'asc' }, limit: page.size + 1 },
    );
    const { items, next } = cut(memberships, page, (m) => m.organizationId);
    const orgs = await this.em.find(Organization, { id: { $in: items.map((m) => m.organizationId) } });
    const byId = new Map(orgs.map((o) => [o.id, o]));
    return { items: items.map((m) => ({ organization: byId.get(m.organizationId)!, role: m.role as Role })), next };
  }
}
