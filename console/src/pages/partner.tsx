// Partner Experience (seed 003): the portfolio of client organizations, create or link one, and
// partner keys (whole portfolio) vs client keys (one client organization). Owner/admin only.

import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useState } from 'react';
import { ApiKeyService } from '../../../gen/latchkey/v1/api_key_pb.js';
import { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { tenantTransport } from '../api.js';
import { Link } from '../router.js';
import { atLeast, useOrg } from '../session.js';
import { Banner, Button, Confirm, ErrorBanner, errorsOf, Field, fmt, Kv, Loading, Page, SecretOnce, SelectField } from '../ui.js';
import { ExpiryFields, expiryOf, KeyList, ScopeFields } from './api-keys.js';

export function Partner() {
  const { org } = useOrg();
  if (org.type !== 'partner')
    return (
      <Page title="Partner Experience">
        <p>
          {org.name} is not a partner organization. A partner manages client organizations and issues keys for them. The root admin can make it a partner in{' '}
          <Link to="/organization">Organization settings</Link>.
        </p>
      </Page>
    );
  if (!atLeast(org.role, 'admin'))
    return (
      <Page title="Partner Experience">
        <p>The Partner Experience is for the owners and admins of {org.name}.</p>
      </Page>
    );
  return <Portfolio />;
}

function Portfolio() {
  const { org, orgs } = useOrg();
  const t = tenantTransport(org.id);
  const clients = useQuery(OrgService.method.listClientOrganizations, { pageSize: 200 }, { transport: t });
  const add = useMutation(OrgService.method.addClientOrganization, { transport: t });
  const remove = useMutation(OrgService.method.removeClientOrganization, { transport: t });
  const createKey = useMutation(ApiKeyService.method.createApiKey, { transport: t });
  const [mode, setMode] = useState<'create' | 'link'>('create');
  const [secret, setSecret] = useState<{ key: string; name: string } | null>(null);
  const addErrs = errorsOf(add.error, ['name', 'clientOrganizationId']);
  const keyErrs = errorsOf(createKey.error, ['name', 'clientOrganizationId', 'scopes', 'expiresIn', 'expiresAt']);
  const list = clients.data?.organizations ?? [];
  const names = new Map(list.map((c) => [c.id, c.name]));
  const linkable = orgs.filter((o) => o.id !== org.id && atLeast(o.role, 'admin') && o.type !== 'partner' && !o.partnerOrganizationId);
  return (
    <Page title="Partner Experience" intro={`Client organizations of ${org.name}, and the keys that reach them.`}>
      {secret && <SecretOnce title={`Your new key “${secret.name}”`} secret={secret.key} onDone={() => setSecret(null)} />}
      <section aria-labelledby="clients-h" className="card">
        <h2 id="clients-h">Client organizations</h2>
        <ErrorBanner error={clients.error} />
        {clients.isPending ? (
          <Loading what="client organizations" />
        ) : list.length ? (
          <ul className="items">
            {list.map((c) => (
              <li key={c.id} className="item">
                <p className="item-title">{c.name}</p>
                <Kv
                  items={[
                    ['Org ID', <code key="id">{c.id}</code>],
                    ['Type', c.type],
                    ['Added', fmt(c.createdAt)],
                  ]}
                />
                <Confirm
                  small
                  label={`Remove ${c.name}`}
                  title={`Remove ${c.name} from the portfolio?`}
                  confirmLabel="Remove"
                  busy={remove.isPending}
                  onConfirm={() => remove.mutateAsync({ clientOrganizationId: c.id })}
                >
                  <p>The organization carries on with its own members; your admins and partner keys lose access to it at once.</p>
                </Confirm>
              </li>
            ))}
          </ul>
        ) : (
          <p>No client organizations yet.</p>
        )}
      </section>

      <section aria-labelledby="add-client-h" className="card">
        <h2 id="add-client-h">Add a client organization</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const v = new FormData(form);
            add.mutate(mode === 'create' ? { name: String(v.get('name')) } : { clientOrganizationId: String(v.get('clientOrganizationId')) }, { onSuccess: () => form.reset() });
          }}
        >
          <fieldset>
            <legend>How</legend>
            <div className="radios">
              <label>
                <input type="radio" name="mode" checked={mode === 'create'} onChange={() => setMode('create')} /> Create a new client organization
              </label>
              <label>
                <input type="radio" name="mode" checked={mode === 'link'} onChange={() => setMode('link')} /> Link an organization you administer
              </label>
            </div>
          </fieldset>
          {mode === 'create' ? (
            <Field label="Client organization name" name="name" required error={addErrs.field('name')} />
          ) : linkable.length ? (
            <SelectField label="Organization to link" name="clientOrganizationId" error={addErrs.field('clientOrganizationId')}>
              {linkable.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </SelectField>
          ) : (
            <p>You administer no other organization that could be linked.</p>
          )}
          <Banner>{addErrs.banner}</Banner>
          {add.isSuccess && <Banner kind="success">{add.data.organization?.name} is now a client organization.</Banner>}
          <Button type="submit" busy={add.isPending} busyLabel="Adding…" disabled={mode === 'link' && !linkable.length}>
            Add client organization
          </Button>
        </form>
      </section>

      <section aria-labelledby="partner-key-h" className="card">
        <h2 id="partner-key-h">New partner or client key</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const v = new FormData(form);
            try {
              const r = await createKey.mutateAsync({ name: String(v.get('name')), clientOrganizationId: String(v.get('client') ?? ''), scopes: v.getAll('scopes').map(String), ...expiryOf(v) });
              setSecret({ key: r.key, name: r.name });
              form.reset();
            } catch {
              /* shown in the form */
            }
          }}
        >
          <Field label="Key name" name="name" required error={keyErrs.field('name')} />
          <SelectField label="Access" name="client" defaultValue="" error={keyErrs.field('clientOrganizationId')} aria-describedby="access-hint">
            <option value="">Partner key: the partner APIs over the whole portfolio</option>
            {list.map((c) => (
              <option key={c.id} value={c.id}>
                Client key: only {c.name}
              </option>
            ))}
          </SelectField>
          <p className="hint" id="access-hint">
            A client key is sent with <code>x-organization-id</code> set to its client organization, and works only there.
          </p>
          <ScopeFields error={keyErrs.field('scopes')} />
          <ExpiryFields errs={keyErrs} />
          <Banner>{keyErrs.banner}</Banner>
          <Button type="submit" busy={createKey.isPending} busyLabel="Creating key…">
            Create key
          </Button>
        </form>
      </section>
      <KeyList title="Partner and client keys" input={{ organizationId: org.id }} transport={t} onSecret={setSecret} clientNames={names} />
    </Page>
  );
}
