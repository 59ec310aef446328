// Single sign-on (admins): the organization's connections to its own identity provider (OIDC or
// SAML), the values to register at the IdP, and email domains proven by a DNS TXT record.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useState } from 'react';
import { type SsoConnection, SsoKind, SsoService } from '../../../gen/latchkey/v1/sso_pb.js';
import { atLeast, useOrg } from '../session.js';
import { Banner, Button, Confirm, CopyButton, ErrorBanner, errorsOf, Field, Kv, Loading, Page, SelectField } from '../ui.js';

export function Sso() {
  const { org } = useOrg();
  const admin = atLeast(org.role, 'admin');
  const list = useQuery(SsoService.method.listSsoConnections, { organizationId: org.id }, { enabled: admin });
  if (!admin)
    return (
      <Page title="Single sign-on">
        <Banner kind="info">Only admins of {org.name} manage single sign-on.</Banner>
      </Page>
    );
  return (
    <Page title="Single sign-on" intro={`Let people at your email domains sign in to ${org.name} through your own identity provider.`}>
      <ErrorBanner error={list.error} />
      {list.isPending ? <Loading what="connections" /> : list.data?.connections.map((c) => <Connection key={c.id} c={c} onChange={() => list.refetch()} />)}
      <CreateConnection onCreated={() => list.refetch()} />
    </Page>
  );
}

function CreateConnection({ onCreated }: { onCreated: () => void }) {
  const { org } = useOrg();
  const [kind, setKind] = useState<'oidc' | 'saml'>('oidc');
  const create = useMutation(SsoService.method.createSsoConnection, { onSuccess: onCreated });
  const errs = errorsOf(create.error, ['name', 'oidc.issuer', 'oidc.client_id', 'oidc.client_secret', 'saml.idp_metadata_xml']);
  return (
    <section aria-labelledby="new-sso-h" className="card">
      <h2 id="new-sso-h">New connection</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const v = new FormData(e.currentTarget);
          const s = (k: string) => String(v.get(k) ?? '');
          create.mutate({
            organizationId: org.id,
            name: s('name'),
            defaultRole: s('defaultRole'),
            kind: kind === 'oidc' ? SsoKind.OIDC : SsoKind.SAML,
            ...(kind === 'oidc' ? { oidc: { issuer: s('issuer'), clientId: s('clientId'), clientSecret: s('clientSecret') } } : { saml: { idpMetadataXml: s('metadata') } }),
          });
        }}
      >
        <SelectField label="Protocol" value={kind} onChange={(e) => setKind(e.target.value as 'oidc' | 'saml')}>
          <option value="oidc">OpenID Connect</option>
          <option value="saml">SAML 2.0</option>
        </SelectField>
        <Field label="Connection name" name="name" required error={errs.field('name')} />
        <SelectField label="Role of people it signs in for the first time" name="defaultRole" defaultValue="member">
          <option value="member">member</option>
          <option value="admin">admin</option>
        </SelectField>
        {kind === 'oidc' ? (
          <>
            <Field label="Issuer URL" name="issuer" type="url" required error={errs.field('oidc.issuer')} />
            <Field label="Client ID" name="clientId" required error={errs.field('oidc.client_id')} />
            <Field label="Client secret" name="clientSecret" type="password" autoComplete="off" required error={errs.field('oidc.client_secret')} hint="Stored encrypted; never shown again." />
          </>
        ) : (
          <div className="field">
            <label htmlFor="saml-metadata">IdP metadata XML</label>
            <textarea id="saml-metadata" name="metadata" rows={6} required />
            {errs.field('saml.idp_metadata_xml') && <p className="field-error">{errs.field('saml.idp_metadata_xml')}</p>}
          </div>
        )}
        <Banner>{errs.banner}</Banner>
        <Button type="submit" busy={create.isPending} busyLabel="Creating…">
          Create connection
        </Button>
      </form>
    </section>
  );
}

function Connection({ c, onChange }: { c: SsoConnection; onChange: () => void }) {
  const { org } = useOrg();
  const del = useMutation(SsoService.method.deleteSsoConnection, { onSuccess: onChange });
  const add = useMutation(SsoService.method.addSsoDomain, { onSuccess: onChange });
  const verify = useMutation(SsoService.method.verifySsoDomain, { onSuccess: onChange });
  const update = useMutation(SsoService.method.updateSsoDomain, { onSuccess: onChange });
  const ids = { organizationId: org.id, connectionId: c.id };
  const sp: [string, string][] = c.oidc
    ? [
        ['Redirect URI (register at your IdP)', c.oidc.redirectUri],
        ['Issuer', c.oidc.issuer],
        ['Client ID', c.oidc.clientId],
      ]
    : c.saml
      ? [
          ['ACS URL', c.saml.acsUrl],
          ['SP entity ID', c.saml.spEntityId],
          ['SP metadata', c.saml.metadataUrl],
          ['IdP entity ID', c.saml.idpEntityId],
        ]
      : [];
  return (
    <section aria-labelledby={`sso-${c.id}`} className="card">
      <h2 id={`sso-${c.id}`}>
        {c.name} <span className="tag">{c.oidc ? 'OIDC' : 'SAML'}</span>
      </h2>
      <Kv items={[...sp, ['Sign-in URL', c.signInUrl], ['Default role', c.defaultRole]]} />
      <ErrorBanner error={add.error ?? verify.error ?? update.error ?? del.error} />
      <h3>Domains</h3>
      <ul className="items">
        {c.domains.map((d) => (
          <li key={d.domain} className="item">
            <p className="item-title">
              {d.domain} <span className="tag">{d.verified ? 'Verified' : 'Not verified'}</span>
            </p>
            {!d.verified && (
              <>
                <Kv
                  items={[
                    ['TXT record name', d.txtRecordName],
                    ['TXT record value', d.txtRecordValue],
                  ]}
                />
                <CopyButton value={d.txtRecordValue} what="TXT record value" />
                <Button kind="secondary" busy={verify.isPending} busyLabel="Checking DNS…" onClick={() => verify.mutate({ ...ids, domain: d.domain })}>
                  Verify {d.domain}
                </Button>
              </>
            )}
            <label className="check">
              <input type="checkbox" checked={d.ssoRequired} disabled={update.isPending} onChange={(e) => update.mutate({ ...ids, domain: d.domain, ssoRequired: e.target.checked })} />
              Require single sign-on for {d.domain} (password and email-link sign-in refused)
            </label>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          add.mutate({ ...ids, domain: String(new FormData(form).get('domain') ?? '').trim() }, { onSuccess: () => form.reset() });
        }}
      >
        <Field label={`Add a domain to ${c.name}`} name="domain" placeholder="example.com" required />
        <Button type="submit" kind="secondary" busy={add.isPending} busyLabel="Adding…">
          Add domain
        </Button>
      </form>
      <div className="actions">
        <Confirm label={`Delete ${c.name}`} title={`Delete ${c.name}?`} confirmLabel="Delete" busy={del.isPending} onConfirm={() => del.mutateAsync(ids)}>
          <p>Its domains sign in with a password or email link again.</p>
        </Confirm>
      </div>
    </section>
  );
}
