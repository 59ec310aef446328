// Audit log: newest first, filtered by event type and time range, paged with the API's tokens.

import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { useQuery } from '@connectrpc/connect-query';
import { useState } from 'react';
import { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { useOrg } from '../session.js';
import { Button, ErrorBanner, Field, fmt, Kv, Loading, Page, SelectField } from '../ui.js';

const TYPES = [
  'user.signed_in',
  'user.sign_in_failed',
  'session.revoked',
  'api_key.created',
  'api_key.updated',
  'api_key.regenerated',
  'api_key.revoked',
  'api_key.leak_reported',
  'api_key.used_after_idle',
  'member.role_changed',
  'member.removed',
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  'organization.created',
  'organization.updated',
  'organization.deleted',
  'organization.client_linked',
  'organization.partner_linked',
  'token.exchanged',
  'token.impersonated',
];

const PAGE = 25;
const at = (local: string) => (local ? timestampFromDate(new Date(local)) : undefined);

export function Audit() {
  const { org } = useOrg();
  const [filter, setFilter] = useState({ type: '', from: '', to: '' });
  const [tokens, setTokens] = useState<string[]>(['']); // page tokens seen, for "newer"
  const pageToken = tokens[tokens.length - 1];
  const events = useQuery(OrgService.method.listAuditEvents, {
    organizationId: org.id,
    pageSize: PAGE,
    pageToken,
    type: filter.type,
    startTime: at(filter.from),
    endTime: at(filter.to),
  });
  return (
    <Page title="Audit log" intro={`Security events of ${org.name}, newest first.`}>
      <form
        className="card filters"
        onSubmit={(e) => {
          e.preventDefault();
          const v = new FormData(e.currentTarget);
          setFilter({ type: String(v.get('type')), from: String(v.get('from')), to: String(v.get('to')) });
          setTokens(['']);
        }}
      >
        <SelectField label="Event type" name="type" defaultValue={filter.type}>
          <option value="">All events</option>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </SelectField>
        <Field label="From" name="from" type="datetime-local" defaultValue={filter.from} />
        <Field label="To" name="to" type="datetime-local" defaultValue={filter.to} />
        <Button type="submit" busy={events.isFetching} busyLabel="Loading…">
          Apply filters
        </Button>
      </form>
      <section aria-labelledby="events-h" className="card">
        <h2 id="events-h">Events</h2>
        <ErrorBanner error={events.error} />
        {events.isPending ? (
          <Loading what="events" />
        ) : events.data?.auditEvents.length ? (
          <ol className="items">
            {events.data.auditEvents.map((ev) => (
              <li key={ev.id} className="item">
                <p className="item-title">
                  <code>{ev.type}</code>
                </p>
                <Kv
                  items={[
                    ['When', fmt(ev.createdAt)],
                    ['Actor', `${ev.actorType}${ev.actorId ? ` ${ev.actorId}` : ''}`],
                    ['Target', ev.targetType ? `${ev.targetType} ${ev.targetId}` : '—'],
                    ['IP address', ev.ip || '—'],
                  ]}
                />
              </li>
            ))}
          </ol>
        ) : (
          <p>No events match.</p>
        )}
        <nav className="actions" aria-label="Audit log pages">
          <button type="button" className="btn btn-secondary" disabled={tokens.length < 2} onClick={() => setTokens((t) => t.slice(0, -1))}>
            Newer events
          </button>
          <button type="button" className="btn btn-secondary" disabled={!events.data?.nextPageToken} onClick={() => setTokens((t) => [...t, events.data!.nextPageToken])}>
            Older events
          </button>
        </nav>
      </section>
    </Page>
  );
}
