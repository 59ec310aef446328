// Webhooks: the organization's endpoints (URL, event filter, description), the signing secret shown
// once at creation and rotation, and each endpoint's delivery log with replay.

import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useId, useState } from 'react';
import { type WebhookDelivery, type WebhookEndpoint, WebhookService } from '../../../gen/latchkey/v1/webhook_pb.js';
import { atLeast, useOrg } from '../session.js';
import { Banner, Button, Confirm, CopyButton, ErrorBanner, errorsOf, Field, fmt, Kv, Loading, Page, SelectField } from '../ui.js';

const EVENT_TYPES = [
  'api_key.*',
  'api_key.created',
  'api_key.updated',
  'api_key.regenerated',
  'api_key.revoked',
  'api_key.leaked',
  'api_key.expiring',
  'api_key.expired',
  'member.*',
  'invitation.*',
  'organization.*',
  'client_organization.linked',
  'user.created',
  'session.revoked',
];

export function Webhooks() {
  const { org } = useOrg();
  const [secret, setSecret] = useState<{ value: string; url: string } | null>(null);
  const create = useMutation(WebhookService.method.createWebhookEndpoint);
  const errs = errorsOf(create.error, ['url', 'description', 'eventTypes']);
  if (!atLeast(org.role, 'admin'))
    return (
      <Page title="Webhooks">
        <Banner kind="info">Only admins of {org.name} manage its webhooks.</Banner>
      </Page>
    );

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const v = new FormData(form);
    try {
      const r = await create.mutateAsync({ organizationId: org.id, url: String(v.get('url')), description: String(v.get('description') ?? ''), eventTypes: v.getAll('eventTypes').map(String) });
      setSecret({ value: r.secret, url: r.endpoint?.url ?? '' });
      form.reset();
    } catch {
      /* shown in the form */
    }
  }

  return (
    <Page title="Webhooks" intro={`Signed HTTP POSTs (Standard Webhooks) to your servers when something happens in ${org.name}: a key created, leaked or about to expire, a member removed, …`}>
      {secret && <SigningSecret secret={secret.value} url={secret.url} onDone={() => setSecret(null)} />}
      <section aria-labelledby="new-hook-h" className="card">
        <h2 id="new-hook-h">New endpoint</h2>
        <form onSubmit={submit}>
          <Field label="URL" name="url" type="url" required placeholder="https://example.com/webhooks/latchkey" error={errs.field('url')} />
          <Field label="Description" name="description" placeholder="billing service" error={errs.field('description')} />
          <fieldset aria-describedby="events-hint">
            <legend>Events</legend>
            <p className="hint" id="events-hint">
              None ticked sends every event.
            </p>
            <div className="checks">
              {EVENT_TYPES.map((t) => (
                <label key={t}>
                  <input type="checkbox" name="eventTypes" value={t} /> <code>{t}</code>
                </label>
              ))}
            </div>
            {errs.field('eventTypes') && <p className="error">{errs.field('eventTypes')}</p>}
          </fieldset>
          <Banner>{errs.banner}</Banner>
          <Button type="submit" busy={create.isPending} busyLabel="Creating endpoint…">
            Create endpoint
          </Button>
        </form>
      </section>
      <EndpointList organizationId={org.id} onSecret={(value, url) => setSecret({ value, url })} />
    </Page>
  );
}

function SigningSecret({ secret, url, onDone }: { secret: string; url: string; onDone: () => void }) {
  const id = useId();
  return (
    <section className="secret" aria-labelledby={id} tabIndex={-1}>
      <h2 id={id}>Signing secret for {url}</h2>
      <p className="warning">
        <strong>Copy this secret now.</strong> It is shown only once. Your receiver verifies each delivery's <code>webhook-signature</code> with it (any Standard Webhooks library).
      </p>
      <div className="field">
        <label htmlFor={`${id}-value`}>Signing secret</label>
        <input id={`${id}-value`} className="mono" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
      </div>
      <div className="actions">
        <CopyButton value={secret} what="secret" />
        <button type="button" className="btn btn-primary" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </section>
  );
}

function EndpointList({ organizationId, onSecret }: { organizationId: string; onSecret: (secret: string, url: string) => void }) {
  const list = useQuery(WebhookService.method.listWebhookEndpoints, { organizationId, pageSize: 200 });
  return (
    <section aria-labelledby="hooks-h" className="card">
      <h2 id="hooks-h">Endpoints</h2>
      <ErrorBanner error={list.error} />
      {list.isPending ? (
        <Loading what="endpoints" />
      ) : list.data?.endpoints.length ? (
        <ul className="items">
          {list.data.endpoints.map((e) => (
            <EndpointItem key={e.id} e={e} onSecret={onSecret} />
          ))}
        </ul>
      ) : (
        <p>No endpoints yet.</p>
      )}
    </section>
  );
}

function EndpointItem({ e, onSecret }: { e: WebhookEndpoint; onSecret: (secret: string, url: string) => void }) {
  const ids = { organizationId: e.organizationId, endpointId: e.id };
  const update = useMutation(WebhookService.method.updateWebhookEndpoint);
  const remove = useMutation(WebhookService.method.deleteWebhookEndpoint);
  const rotate = useMutation(WebhookService.method.rotateWebhookSecret);
  const test = useMutation(WebhookService.method.sendTestWebhookEvent);
  const [overlap, setOverlap] = useState('86400');
  const [showLog, setShowLog] = useState(false);
  const name = e.description || new URL(e.url).host; // in the buttons' names: short, and tells endpoints apart
  return (
    <li className="item">
      <p className="item-title">
        <code>{e.url}</code> <span className={`tag tag-${e.enabled ? 'active' : 'disabled'}`}>{e.enabled ? 'enabled' : 'disabled'}</span>
      </p>
      <Kv
        items={[
          ['Description', e.description || '—'],
          ['Events', e.eventTypes.length ? e.eventTypes.join(', ') : 'All events'],
          ['Previous secret signs until', fmt(e.previousSecretExpiresAt, '—')],
          ['Created', fmt(e.createdAt)],
        ]}
      />
      <div className="actions">
        <button type="button" className="btn btn-secondary btn-small" aria-expanded={showLog} onClick={() => setShowLog((s) => !s)}>
          {showLog ? 'Hide delivery log' : 'Delivery log'}
        </button>
        <Button kind="secondary" className="btn btn-secondary btn-small" busy={test.isPending} busyLabel="Sending…" onClick={() => test.mutate(ids)}>
          Send test event
        </Button>
        <Confirm
          small
          kind="secondary"
          label={`Rotate secret of ${name}`}
          title="Rotate the signing secret?"
          confirmLabel="Rotate"
          busy={rotate.isPending}
          onConfirm={async () => {
            const r = await rotate.mutateAsync({ ...ids, overlapSeconds: Number(overlap) });
            onSecret(r.secret, e.url);
          }}
        >
          <p>A new secret is issued and shown once. During the overlap each delivery carries two signatures, one per secret.</p>
          <SelectField label="The old secret keeps signing for" value={overlap} onChange={(ev) => setOverlap(ev.target.value)}>
            <option value="0">No overlap: it stops now</option>
            <option value="3600">1 hour</option>
            <option value="86400">24 hours</option>
          </SelectField>
        </Confirm>
        <Confirm
          small
          kind="secondary"
          label={`${e.enabled ? 'Disable' : 'Enable'} ${name}`}
          title={`${e.enabled ? 'Disable' : 'Enable'} this endpoint?`}
          confirmLabel={e.enabled ? 'Disable' : 'Enable'}
          busy={update.isPending}
          onConfirm={() => update.mutateAsync({ ...ids, enabled: !e.enabled })}
        >
          <p>{e.enabled ? 'Nothing is sent to it until you enable it again; queued deliveries are dead-lettered (replay them later).' : 'New events are sent to it again.'}</p>
        </Confirm>
        <Confirm small label={`Delete ${name}`} title="Delete this endpoint?" confirmLabel="Delete" busy={remove.isPending} onConfirm={() => remove.mutateAsync(ids)}>
          <p>Nothing more is sent to it, and its delivery log is deleted.</p>
        </Confirm>
      </div>
      <ErrorBanner error={test.error} />
      {test.isSuccess && <Banner kind="success">Test event queued: see the delivery log.</Banner>}
      {showLog && <DeliveryLog organizationId={e.organizationId} endpointId={e.id} />}
    </li>
  );
}

function DeliveryLog({ organizationId, endpointId }: { organizationId: string; endpointId: string }) {
  const log = useQuery(WebhookService.method.listWebhookDeliveries, { organizationId, endpointId, pageSize: 50 }, { refetchInterval: 3000 });
  return (
    <section aria-label="Delivery log">
      <ErrorBanner error={log.error} />
      {log.isPending ? (
        <Loading what="deliveries" />
      ) : log.data?.deliveries.length ? (
        <ol className="items">
          {log.data.deliveries.map((d) => (
            <DeliveryItem key={d.id} d={d} organizationId={organizationId} />
          ))}
        </ol>
      ) : (
        <p>No deliveries yet.</p>
      )}
    </section>
  );
}

const STATUS_TAG: Record<string, string> = { delivered: 'active', pending: 'disabled', dead_lettered: 'revoked' };

function DeliveryItem({ d, organizationId }: { d: WebhookDelivery; organizationId: string }) {
  const replay = useMutation(WebhookService.method.replayWebhookDelivery);
  return (
    <li className="item">
      <p className="item-title">
        <code>{d.eventType}</code> <span className={`tag tag-${STATUS_TAG[d.status] ?? 'disabled'}`}>{d.status.replace('_', ' ')}</span>
      </p>
      <Kv
        items={[
          ['Event id', <code key="id">{d.eventId}</code>],
          ['Attempts', String(d.attempts)],
          ['Response', d.lastStatusCode ? String(d.lastStatusCode) : '—'],
          ['Latency', d.attempts ? `${d.lastLatencyMs} ms` : '—'],
          ['Last error', d.lastError || '—'],
          ['Last attempt', fmt(d.lastAttemptAt)],
          ...(d.status === 'pending' ? [['Next attempt', fmt(d.nextAttemptAt)] as [string, string]] : []),
        ]}
      />
      {d.status !== 'pending' && (
        <div className="actions">
          <Button
            kind="secondary"
            className="btn btn-secondary btn-small"
            busy={replay.isPending}
            busyLabel="Replaying…"
            onClick={() => replay.mutate({ organizationId, endpointId: d.endpointId, deliveryId: d.id })}
          >
            Replay
          </Button>
        </div>
      )}
      <ErrorBanner error={replay.error} />
    </li>
  );
}
