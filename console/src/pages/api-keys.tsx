// API keys (seed 000 "Settings → API Keys → New API Key", seed 001 personal access tokens, seed
// 002 "Generate Token", seed 004 "Create API Key and select duration"): create with scopes, limit
// and expiry, the secret shown once, and regenerate / disable / revoke, each confirmed.

import { create } from '@bufbuild/protobuf';
import { type Timestamp, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Transport } from '@connectrpc/connect';
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useState } from 'react';
import { ApiKeyService, CreateApiKeyRequestSchema } from '../../../gen/latchkey/v1/api_key_pb.js';
import type { ApiKey } from '../../../gen/latchkey/v1/common_pb.js';
import { tenantTransport, transport } from '../api.js';
import { useOrg } from '../session.js';
import { Banner, Button, Confirm, ErrorBanner, errorsOf, Field, fmt, Kv, Loading, Page, SecretOnce, SelectField } from '../ui.js';

const LATCHKEY_SCOPES = ['user:read', 'user:write', 'orgs:read', 'orgs:write', 'members:read', 'members:write', 'api-keys:read', 'api-keys:write', 'audit:read', 'impersonate', 'introspect'];

const DAY = 86_400;
const EXPIRY = [
  ['never', 'Never'],
  [String(DAY), '1 day'],
  [String(7 * DAY), '7 days'],
  [String(30 * DAY), '30 days'],
  [String(90 * DAY), '90 days'],
  [String(365 * DAY), '1 year'],
  ['date', 'On a date…'],
] as const;

/** Expiry fields of a create form: a preset duration or a date. */
export function ExpiryFields({ errs }: { errs: ReturnType<typeof errorsOf> }) {
  const [choice, setChoice] = useState('never');
  return (
    <>
      <SelectField label="Expires" name="expiry" value={choice} onChange={(e) => setChoice(e.target.value)} error={errs.field('expiresIn')}>
        {EXPIRY.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </SelectField>
      {choice === 'date' && <Field label="Expiry date" name="expiresAt" type="date" required error={errs.field('expiresAt')} />}
    </>
  );
}

export function expiryOf(v: FormData): { expiresIn?: bigint; expiresAt?: Timestamp } {
  const choice = String(v.get('expiry') ?? 'never');
  if (choice === 'never') return {};
  if (choice === 'date') return { expiresAt: timestampFromDate(new Date(`${v.get('expiresAt')}T23:59:59`)) };
  return { expiresIn: BigInt(choice) };
}

type Kind = 'org' | 'personal' | 'pinned';

export function ApiKeys() {
  const { org } = useOrg();
  const [secret, setSecret] = useState<{ key: string; name: string } | null>(null);
  const [kind, setKind] = useState<Kind>('org');
  const orgT = tenantTransport(org.id);
  const createOrg = useMutation(ApiKeyService.method.createApiKey, { transport: orgT });
  const createPersonal = useMutation(ApiKeyService.method.createApiKey);
  const creating = kind === 'org' ? createOrg : createPersonal;
  const errs = errorsOf(creating.error, ['name', 'scopes', 'rateLimit', 'expiresIn', 'expiresAt']);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const v = new FormData(form);
    const extra = String(v.get('extraScopes') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    const rpm = Number(v.get('rpm') || 0);
    const req = create(CreateApiKeyRequestSchema, {
      name: String(v.get('name')),
      scopes: [...v.getAll('scopes').map(String), ...extra],
      ...(rpm > 0 ? { rateLimit: { requestsPerMinute: rpm } } : {}),
      ...expiryOf(v),
      ...(kind === 'pinned' ? { metadata: { organizationId: org.id } } : {}),
    });
    try {
      const r = await creating.mutateAsync(req);
      setSecret({ key: r.key, name: r.name });
      form.reset();
    } catch {
      /* shown in the form */
    }
  }

  return (
    <Page title="API keys" intro="Long-lived credentials for servers, pipelines and scripts, sent as the x-api-key header. Never put one in a client-side bundle.">
      {secret && <SecretOnce title={`Your new key “${secret.name}”`} secret={secret.key} onDone={() => setSecret(null)} />}
      <section aria-labelledby="new-key-h" className="card">
        <h2 id="new-key-h">New API key</h2>
        <form onSubmit={submit}>
          <Field label="Name" name="name" required placeholder="build pipeline" error={errs.field('name')} />
          <fieldset>
            <legend>Kind</legend>
            <div className="radios">
              <label>
                <input type="radio" name="kind" value="org" checked={kind === 'org'} onChange={() => setKind('org')} /> Organization key of {org.name}
              </label>
              <label>
                <input type="radio" name="kind" value="personal" checked={kind === 'personal'} onChange={() => setKind('personal')} /> Personal access token (acts as you, in any of your organizations)
              </label>
              <label>
                <input type="radio" name="kind" value="pinned" checked={kind === 'pinned'} onChange={() => setKind('pinned')} /> Personal token pinned to {org.name}
              </label>
            </div>
          </fieldset>
          <ScopeFields error={errs.field('scopes')} />
          <Field label="Rate limit (requests per minute)" name="rpm" type="number" min={0} step={1} inputMode="numeric" hint="Empty or 0: no per-key limit." error={errs.field('rateLimit')} />
          <ExpiryFields errs={errs} />
          <Banner>{errs.banner}</Banner>
          <Button type="submit" busy={creating.isPending} busyLabel="Creating key…">
            Create API key
          </Button>
        </form>
      </section>
      <KeyList title="Organization keys" input={{ organizationId: org.id }} onSecret={setSecret} />
      <KeyList title="Your personal access tokens" input={{}} onSecret={setSecret} />
    </Page>
  );
}

export function ScopeFields({ error }: { error?: string }) {
  return (
    <fieldset aria-describedby="scopes-hint">
      <legend>Scopes</legend>
      <p className="hint" id="scopes-hint">
        None ticked gives <code>read</code> and <code>write</code>. A key never gets more than your role allows.
      </p>
      <div className="checks">
        {['read', 'write', ...LATCHKEY_SCOPES].map((s) => (
          <label key={s}>
            <input type="checkbox" name="scopes" value={s} /> <code>{s}</code>
          </label>
        ))}
      </div>
      <Field
        label="Other scopes, for your own services"
        name="extraScopes"
        placeholder="projects:read projects:write"
        hint="Separated by spaces or commas; Latchkey stores them and returns them to your services when they verify the key."
        error={error}
      />
    </fieldset>
  );
}

export function KeyList({
  title,
  input,
  transport: t = transport,
  onSecret,
  clientNames,
}: {
  title: string;
  input: { organizationId?: string };
  transport?: Transport;
  onSecret: (s: { key: string; name: string }) => void;
  clientNames?: Map<string, string>;
}) {
  const list = useQuery(ApiKeyService.method.listApiKeys, { ...input, pageSize: 100 }, { transport: t });
  const id = title.replace(/\W+/g, '-').toLowerCase();
  return (
    <section aria-labelledby={id} className="card">
      <h2 id={id}>{title}</h2>
      <ErrorBanner error={list.error} />
      {list.isPending ? (
        <Loading what="keys" />
      ) : list.data?.apiKeys.length ? (
        <ul className="items">
          {list.data.apiKeys.map((k) => (
            <KeyItem key={k.id} k={k} onSecret={onSecret} clientNames={clientNames} />
          ))}
        </ul>
      ) : (
        <p>No keys yet.</p>
      )}
    </section>
  );
}

function KeyItem({ k, onSecret, clientNames }: { k: ApiKey; onSecret: (s: { key: string; name: string }) => void; clientNames?: Map<string, string> }) {
  const update = useMutation(ApiKeyService.method.updateApiKey);
  const regenerate = useMutation(ApiKeyService.method.regenerateApiKey);
  const revoke = useMutation(ApiKeyService.method.revokeApiKey);
  const [grace, setGrace] = useState('0');
  const live = k.status !== 'revoked';
  return (
    <li className="item">
      <p className="item-title">
        {k.name} <span className={`tag tag-${k.status}`}>{k.status}</span>
      </p>
      <Kv
        items={[
          ['Start', <code key="s">{k.start}…</code>],
          ['Scopes', k.scopes.join(', ') || '—'],
          ...(clientNames
            ? [['Access', k.clientOrganizationId ? `Client key: ${clientNames.get(k.clientOrganizationId) ?? k.clientOrganizationId}` : 'Partner key (whole portfolio)'] as [string, string]]
            : []),
          ['Rate limit', k.rateLimit?.requestsPerMinute ? `${k.rateLimit.requestsPerMinute}/min` : 'None'],
          ['Expires', fmt(k.expiresAt, 'Never')],
          ['Last used', fmt(k.lastUsedAt, 'Never')],
          ['Created', fmt(k.createdAt)],
        ]}
      />
      {live && (
        <div className="actions">
          <Confirm
            small
            kind="secondary"
            label={`Regenerate ${k.name}`}
            title={`Regenerate “${k.name}”?`}
            confirmLabel="Regenerate"
            busy={regenerate.isPending}
            onConfirm={async () => {
              const r = await regenerate.mutateAsync({ keyId: k.id, gracePeriodSeconds: BigInt(grace) });
              onSecret({ key: r.key, name: r.name });
            }}
          >
            <p>A new secret is issued for the same key id and shown once.</p>
            <SelectField label="The old secret keeps working for" value={grace} onChange={(e) => setGrace(e.target.value)}>
              <option value="0">No grace period: it stops now</option>
              <option value="3600">1 hour</option>
              <option value="86400">24 hours</option>
            </SelectField>
          </Confirm>
          <Confirm
            small
            kind="secondary"
            label={`${k.enabled ? 'Disable' : 'Enable'} ${k.name}`}
            title={`${k.enabled ? 'Disable' : 'Enable'} “${k.name}”?`}
            confirmLabel={k.enabled ? 'Disable' : 'Enable'}
            busy={update.isPending}
            onConfirm={() => update.mutateAsync({ keyId: k.id, enabled: !k.enabled })}
          >
            <p>{k.enabled ? 'Requests with this key are refused until you enable it again.' : 'The key works again at once.'}</p>
          </Confirm>
          <Confirm small label={`Revoke ${k.name}`} title={`Revoke “${k.name}”?`} confirmLabel="Revoke for good" busy={revoke.isPending} onConfirm={() => revoke.mutateAsync({ keyId: k.id })}>
            <p>The key stops working at once, everywhere. This cannot be undone.</p>
          </Confirm>
        </div>
      )}
    </li>
  );
}
