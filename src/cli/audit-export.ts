// `latchkey audit export`: the audit log as NDJSON on stdout, through AuditLog.list (the query the
// ListAuditEvents RPC pages through), newest first, organization by organization.

import type { Deps } from '../deps.js';
import { readPage } from '../modules/common/page-token.js';
import { Organization } from '../modules/org/organization.entity.js';
import { findOrganization, parseTime, withDeps } from './context.js';

export interface ExportOptions {
  org?: string;
  type?: string;
  since?: string;
  until?: string;
}

async function write(line: string): Promise<void> {
  // Respect back-pressure: an export of millions of events must not be buffered in memory.
  if (!process.stdout.write(`${line}\n`)) await new Promise((r) => process.stdout.once('drain', r));
}

export function auditExport(o: ExportOptions): Promise<void> {
  const filter = { type: o.type, start: parseTime('--since', o.since), end: parseTime('--until', o.until) };
  return withDeps(async (deps: Deps) => {
    const orgs = o.org ? [(await findOrganization(deps, o.org)).id] : (await deps.db.orm.em.fork().find(Organization, {}, { fields: ['id'], orderBy: { id: 'asc' } })).map((x) => x.id);
    let n = 0;
    for (const organizationId of orgs) {
      let token = '';
      do {
        const page = await deps.audit.list(organizationId, readPage(200, token), filter);
        for (const e of page.items) await write(JSON.stringify({ ...e, createdAt: e.createdAt.toISOString() }));
        n += page.items.length;
        token = page.next;
      } while (token);
    }
    console.error(`${n} event(s) exported`);
  });
}
