// Organization settings (seed 000 "Settings → Organization"): the Org ID to copy (also in the
// orgid cookie), rename, type (partner), and a new organization.
import { useMutation } from '@connectrpc/connect-query';
import { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { atLeast, useOrg } from '../session.js';
import { Banner, Button, Confirm, CopyButton, errorsOf, Field, fmt, Kv, Page, SelectField } from '../ui.js';

const TYPES = ['personal', 'test', 'paid', 'partner'];

export function OrganizationSettings() {
  const { org, select } = useOrg();
  const update = useMutation(OrgService.method.updateOrganization);
  const leave = useMutation(OrgService.method.leavePartner);
  const create = useMutation(OrgService.method.createOrganization, { onSuccess: (r) => r.organization && select(r.organization.id) });
  const errs = errorsOf(update.error, ['name', 'type']);
  const createErrs = errorsOf(create.error, ['name', 'type']);
  const admin = atLeast(org.role, 'admin');
  return (
    <Page title="Organization settings">
      <section aria-labelledby="orgid-h" className="card">
        <h2 id="orgid-h">{org.name}</h2>
        <div className="field">
          <label htmlFor="org-id">Org ID</label>
          <p className="hint" id="org-id-hint">
            Send it as the <code>orgid</code> header on API calls. It is also in this site's <code>orgid</code> cookie.
          </p>
          <div className="inline">
            <input id="org-id" className="mono" readOnly value={org.id} aria-describedby="org-id-hint" onFocus={(e) => e.currentTarget.select()} />
            <CopyButton value={org.id} what="Org ID" />
          </div>
        </div>
        <Kv
          items={[
            ['Slug', org.slug],
            ['Type', org.type],
            ['Your role', org.role],
            ['Created', fmt(org.createdAt)],
            ...(org.partnerOrganizationId ? [['Partner', org.partnerOrganizationId] as [string, string]] : []),
          ]}
        />
        {org.partnerOrganizationId && org.role === 'root_admin' && (
          <Confirm
            label="Leave the partner portfolio"
            title={`Take ${org.name} out of its partner's portfolio?`}
            confirmLabel="Leave"
            busy={leave.isPending}
            onConfirm={() => leave.mutateAsync({ organizationId: org.id })}
          >
            <p>The partner's admins and partner keys lose access to {org.name} at once, and invitations they sent that are still pending are revoked.</p>
          </Confirm>
        )}
      </section>

      <section aria-labelledby="edit-h" className="card">
        <h2 id="edit-h">Name and type</h2>
        {!admin && <p>Only admins can change the organization.</p>}
        <form
          key={org.id + org.updatedAt?.seconds}
          onSubmit={(e) => {
            e.preventDefault();
            const v = new FormData(e.currentTarget);
            const type = String(v.get('type') ?? org.type);
            update.mutate({ organizationId: org.id, name: String(v.get('name')), ...(type !== org.type ? { type } : {}) });
          }}
        >
          <Field label="Organization name" name="name" defaultValue={org.name} disabled={!admin} required error={errs.field('name')} />
          <SelectField label="Type" name="type" defaultValue={org.type} disabled={org.role !== 'root_admin'} error={errs.field('type')} aria-describedby="type-hint">
            {[...new Set([...TYPES, org.type])].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </SelectField>
          <p className="hint" id="type-hint">
            A partner organization manages client organizations and their keys (Partner Experience). Only the root admin changes the type.
          </p>
          <Banner>{errs.banner}</Banner>
          {update.isSuccess && <Banner kind="success">Organization saved.</Banner>}
          <Button type="submit" busy={update.isPending} busyLabel="Saving…" disabled={!admin}>
            Save changes
          </Button>
        </form>
      </section>

      <section aria-labelledby="new-org-h" className="card">
        <h2 id="new-org-h">New organization</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const v = new FormData(e.currentTarget);
            create.mutate({ name: String(v.get('name')), type: String(v.get('type')) });
          }}
        >
          <Field label="Name of the new organization" name="name" required error={createErrs.field('name')} />
          <SelectField label="Type of the new organization" name="type" defaultValue="test" error={createErrs.field('type')}>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </SelectField>
          <Banner>{createErrs.banner}</Banner>
          <Button type="submit" busy={create.isPending} busyLabel="Creating…">
            Create organization
          </Button>
        </form>
      </section>
    </Page>
  );
}
