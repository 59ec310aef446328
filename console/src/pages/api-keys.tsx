// API keys (seed 000 "Settings → API Keys → New API Key", seed 001 personal access tokens, seed
// 002 "Generate Token", seed 004 "Create API Key and select duration"): create with scopes, limit
// and expiry, the secret shown once, and regenerate / disable / revoke, each confirmed. Each key
// shows its IP allowlist (editable) and, on request, its usage over the last 24 hours as a bar chart.

import { create } from '@bufbuild/protobuf';
import { type Timestamp, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Transport } from '@connectrpc/connect';
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { type FormEvent, useState } from 'react';
import { ApiKeyService, CreateApiKeyRequestSchema, type UsageBucket, UsageResolution } from '../../../gen/latchkey/v1/api_key_pb.js';
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

/** The IP allowlist as typed: ranges separated by commas, spaces or new lines. */
const cidrsOf = (raw: FormDataEntryValue | string | null): string[] =>
  String(raw ?? '')
    .split(/[\s,]+/)
    .filter(Boolean);
/** Validation names each bad range (`ipAllowlist.cidrs[2]`): all of them belong to the one field. */
const IP_FIELDS = Array.from({ length: 100 }, (_, i) => `ipAllowlist.cidrs[${i}]`);
const ipError = (errs: ReturnType<typeof errorsOf>) => IP_FIELDS.map((f) => errs.field(f)).find(Boolean);

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
  const errs = errorsOf(creating.error, ['name', 'scopes', 'rateLimit', 'expiresIn', 'expiresAt', ...IP_FIELDS]);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const v = new FormData(form);
    const extra = String(v.get('extraScopes') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    const rpm = Number(v.get('rpm') || 0);
    const cidrs = cidrsOf(v.get('cidrs'));
    const req = create(CreateApiKeyRequestSchema, {
      name: String(v.get('name')),
      scopes: [...v.getAll('scopes').map(String), ...extra],
      ...(rpm > 0 ? { rateLimit: { requestsPerMinute: rpm } } : {}),
      ...expiryOf(v),
      ...(kind === 'pinned' ? { metadata: { organizationId: org.id } } : {}),
      ...(cidrs.length ? { ipAllowlist: { cidrs } } : {}),
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
          <Field
            label="IP allowlist (optional)"
            name="cidrs"
            placeholder="203.0.113.0/24, 2001:db8::/32"
            hint="Addresses or CIDR ranges, separated by commas. Empty: the key works from anywhere; otherwise requests from elsewhere get 403."
            error={ipError(errs)}
          />
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
  const [cidrs, setCidrs] = useState((k.ipAllowlist?.cidrs ?? []).join(', '));
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
          ['IP allowlist', k.ipAllowlist?.cidrs.length ? k.ipAllowlist.cidrs.join(', ') : 'Any address'],
          ['Expires', fmt(k.expiresAt, 'Never')],
          ['Last used', fmt(k.lastUsedAt, 'Never')],
          ['Created', fmt(k.createdAt)],
        ]}
      />
      <UsageChart k={k} />
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
          <Confirm
            small
            kind="secondary"
            label={`IP allowlist of ${k.name}`}
            title={`IP allowlist of “${k.name}”`}
            confirmLabel="Save allowlist"
            busy={update.isPending}
            onConfirm={() => update.mutateAsync({ keyId: k.id, ipAllowlist: { cidrs: cidrsOf(cidrs) } })}
          >
            <Field
              label="Addresses or CIDR ranges"
              value={cidrs}
              onChange={(e) => setCidrs(e.target.value)}
              placeholder="203.0.113.0/24, 2001:db8::/32"
              hint="Separated by commas. Empty: the key works from anywhere."
            />
          </Confirm>
          <Confirm small label={`Revoke ${k.name}`} title={`Revoke “${k.name}”?`} confirmLabel="Revoke for good" busy={revoke.isPending} onConfirm={() => revoke.mutateAsync({ keyId: k.id })}>
            <p>The key stops working at once, everywhere. This cannot be undone.</p>
          </Confirm>
        </div>
      )}
    </li>
  );
}

const REFUSALS = ['rateLimited', 'usageExceeded', 'expired', 'revoked', 'disabled', 'forbidden'] as const;
const REFUSAL_LABEL: Record<(typeof REFUSALS)[number], string> = {
  rateLimited: 'rate limited',
  usageExceeded: 'usage exceeded',
  expired: 'expired',
  revoked: 'revoked',
  disabled: 'disabled',
  forbidden: 'forbidden',
};
const refused = (b: UsageBucket) => REFUSALS.reduce((n, c) => n + Number(b[c]), 0);

/** Verifications of the key per hour over the last 24 hours, loaded when opened: accepted and refused bars. */
function UsageChart({ k }: { k: ApiKey }) {
  const [open, setOpen] = useState(false);
  return (
    <details onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Usage, last 24 hours</summary>
      {open && <UsageBars keyId={k.id} name={k.name} />}
    </details>
  );
}

function UsageBars({ keyId, name }: { keyId: string; name: string }) {
  const usage = useQuery(ApiKeyService.method.getApiKeyUsage, { keyId, resolution: UsageResolution.HOUR });
  if (usage.isPending) return <Loading what="usage" />;
  if (usage.error) return <ErrorBanner error={usage.error} />;
  const buckets = usage.data.buckets;
  const t = usage.data.totals;
  const max = Math.max(1, ...buckets.map((b) => Number(b.total)));
  const W = 480;
  const H = 120;
  const bw = W / Math.max(1, buckets.length);
  const summary = `${Number(t?.valid ?? 0)} accepted, ${t ? refused(t) : 0} refused in the last 24 hours`;
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H + 16}`} width="100%" role="img" aria-label={`Verifications of ${name} per hour: ${summary}`}>
        <line x1={0} y1={H} x2={W} y2={H} stroke="#c9d1db" />
        {buckets.map((b, i) => {
          const ok = (Number(b.valid) / max) * H;
          const bad = (refused(b) / max) * H;
          const x = i * bw + 1;
          const when = b.startTime ? new Date(Number(b.startTime.seconds) * 1000) : undefined;
          const label = `${when?.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) ?? ''}: ${Number(b.valid)} accepted, ${refused(b)} refused`;
          return (
            <g key={String(b.startTime?.seconds ?? i)}>
              <title>{label}</title>
              <rect x={x} y={H - ok} width={Math.max(1, bw - 2)} height={ok} fill="#1e5631" />
              <rect x={x} y={H - ok - bad} width={Math.max(1, bw - 2)} height={bad} fill="#a4161a" />
            </g>
          );
        })}
        <text x={0} y={H + 14} fontSize={11} fill="#4a5360">
          24 h ago
        </text>
        <text x={W} y={H + 14} fontSize={11} fill="#4a5360" textAnchor="end">
          now
        </text>
      </svg>
      <figcaption>
        {summary}
        {t && refused(t) > 0 && (
          <>
            {' '}
            (
            {REFUSALS.filter((c) => Number(t[c]) > 0)
              .map((c) => `${Number(t[c])} ${REFUSAL_LABEL[c]}`)
              .join(', ')}
            )
          </>
        )}
        . Green: accepted; red: refused.
      </figcaption>
    </figure>
  );
}
