// The organization's security policy: who needs a second factor, where invitations may go, session
// and API-key lifetimes. Admins change it; members see what applies to them.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useQueryClient } from '@tanstack/react-query';
import { OrgPolicyService } from '../../../gen/latchkey/v1/policy_pb.js';
import { atLeast, useOrg } from '../session.js';
import { Banner, Button, errorsOf, Field, Loading, Page, SelectField } from '../ui.js';

export function SecurityPolicy() {
  const { org } = useOrg();
  const qc = useQueryClient();
  const policy = useQuery(OrgPolicyService.method.getOrgPolicy, { organizationId: org.id });
  const update = useMutation(OrgPolicyService.method.updateOrgPolicy, { onSuccess: () => qc.invalidateQueries() });
  const admin = atLeast(org.role, 'admin');
  const errs = errorsOf(update.error, ['requireSecondFactor', 'allowedInvitationDomains', 'maxSessionSeconds', 'maxApiKeyLifetimeSeconds']);
  const p = policy.data?.policy;
  return (
    <Page title="Security policy" intro={`Rules for everyone in ${org.name}.`}>
      {policy.isPending || !p ? (
        <Loading what="the policy" />
      ) : (
        <form
          className="card"
          key={String(p.updateTime?.seconds ?? 0)}
          onSubmit={(e) => {
            e.preventDefault();
            const v = new FormData(e.currentTarget);
            const minutes = (name: string) => BigInt(Math.round(Number(v.get(name) || 0) * 60));
            update.mutate({
              organizationId: org.id,
              requireSecondFactor: String(v.get('requireSecondFactor')),
              allowedInvitationDomains: String(v.get('allowedInvitationDomains') ?? '')
                .split(/[\s,]+/)
                .filter(Boolean),
              maxSessionSeconds: minutes('maxSessionMinutes'),
              maxApiKeyLifetimeSeconds: BigInt(Math.round(Number(v.get('maxApiKeyDays') || 0) * 86400)),
              apiKeysMustExpire: v.get('apiKeysMustExpire') === 'on',
            });
          }}
        >
          <fieldset disabled={!admin}>
            <SelectField label="Require a second factor" name="requireSecondFactor" defaultValue={p.requireSecondFactor || 'none'} error={errs.field('requireSecondFactor')}>
              <option value="none">No</option>
              <option value="admins">For admins</option>
              <option value="all">For every member</option>
            </SelectField>
            <Field
              label="Allowed email domains for invitations"
              hint="Separated by commas or spaces; empty allows any domain."
              name="allowedInvitationDomains"
              defaultValue={p.allowedInvitationDomains.join(', ')}
              error={errs.field('allowedInvitationDomains')}
            />
            <Field
              label="Maximum session lifetime (minutes, 0 for no limit)"
              name="maxSessionMinutes"
              type="number"
              min={0}
              defaultValue={Number(p.maxSessionSeconds) / 60}
              error={errs.field('maxSessionSeconds')}
            />
            <Field
              label="Maximum API-key lifetime (days, 0 for no limit)"
              name="maxApiKeyDays"
              type="number"
              min={0}
              step="any"
              defaultValue={Number(p.maxApiKeyLifetimeSeconds) / 86400}
              error={errs.field('maxApiKeyLifetimeSeconds')}
            />
            <div className="field checkbox">
              <input id="keys-expire" type="checkbox" name="apiKeysMustExpire" defaultChecked={p.apiKeysMustExpire} />
              <label htmlFor="keys-expire">API keys must expire</label>
            </div>
          </fieldset>
          {!admin && <Banner kind="info">Only admins can change the policy.</Banner>}
          <Banner>{errs.banner}</Banner>
          {update.isSuccess && <Banner kind="success">Policy saved.</Banner>}
          {admin && (
            <Button type="submit" busy={update.isPending} busyLabel="Saving…">
              Save policy
            </Button>
          )}
        </form>
      )}
    </Page>
  );
}
