// The OAuth provider's sign-in and consent step: an application asks for access; the signed-in user
// (or one who signs in first) sees who asks and for what, and allows or denies. The answer goes back
// to the provider, which redirects to the application.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useEffect, useState } from 'react';
import { OAuthClientService } from '../../../gen/latchkey/v1/oauth_pb.js';
import { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { isUnauthenticated, readOrgCookie } from '../api.js';
import { navigate, useLocation } from '../router.js';
import { useMe } from '../session.js';
import { Banner, Button, ErrorBanner, Loading, Page, SelectField } from '../ui.js';

/** What each scope lets the application do, in words. */
const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are on Latchkey',
  profile: 'See your name',
  email: 'See your email address and whether it is verified',
  offline_access: 'Stay connected when you are not using it',
  'user:read': 'Read your account',
  'user:write': 'Change your account',
  'orgs:read': 'Read your organizations',
  'orgs:write': 'Change your organizations',
  'members:read': 'See the members of your organizations',
  'members:write': 'Invite, change and remove members',
  'api-keys:read': 'See API keys',
  'api-keys:write': 'Create and revoke API keys',
  'audit:read': 'Read audit logs',
};

export function OAuthConsent({ uid }: { uid: string }) {
  const me = useMe();
  const { href } = useLocation();
  const unauthenticated = isUnauthenticated(me.error);
  useEffect(() => {
    if (unauthenticated) navigate(`/sign-in?next=${encodeURIComponent(href)}`, { replace: true });
  }, [unauthenticated, href]);
  const orgs = useQuery(OrgService.method.listMyOrganizations, { pageSize: 200 }, { enabled: !!me.data });
  const [chosen, setChosen] = useState(readOrgCookie() ?? '');
  const list = orgs.data?.organizations ?? [];
  const organizationId = list.find((o) => o.id === chosen)?.id ?? list[0]?.id ?? '';
  const ask = useQuery(OAuthClientService.method.getOAuthInteraction, { uid, organizationId }, { enabled: !!me.data && !orgs.isPending, retry: false });
  const answer = useMutation(OAuthClientService.method.completeOAuthInteraction, {
    onSuccess: (r) => window.location.assign(r.redirectTo),
  });
  if (me.isPending || unauthenticated || (me.data && (orgs.isPending || ask.isPending)))
    return (
      <Page title="Authorize application">
        <Loading what="the request" />
      </Page>
    );
  if (me.error || ask.error)
    return (
      <Page title="Authorize application">
        <ErrorBanner error={me.error ?? ask.error} />
      </Page>
    );
  const a = ask.data!;
  const refused = new Set(a.refusedScopes);
  return (
    <Page
      title={`Allow ${a.clientName} to use your account?`}
      intro={
        <>
          Signed in as <strong>{me.data.user?.email}</strong>. <strong>{a.clientName}</strong> will be able to:
        </>
      }
    >
      {list.length > 1 && (
        <SelectField label="Organization it acts in" value={organizationId} onChange={(e) => setChosen(e.target.value)}>
          {list.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name || o.slug} ({o.role})
            </option>
          ))}
        </SelectField>
      )}
      <ul className="items" aria-label="Requested access">
        {a.scopes.map((s) => (
          <li key={s} className="item">
            <p className="item-title">{SCOPE_TEXT[s] ?? s}</p>
            <code>{s}</code> {refused.has(s) && <span className="tag">Your role does not allow this</span>}
          </li>
        ))}
      </ul>
      {refused.size > 0 && <Banner>Your role does not allow some of this access: allowing will tell the application the request was refused.</Banner>}
      <p>
        You will return to <code>{a.redirectUri}</code>. You can withdraw this access at any time under Profile → Authorized applications.
      </p>
      <ErrorBanner error={answer.error} />
      <div className="actions">
        <Button type="button" onClick={() => answer.mutate({ uid, approve: true, organizationId })} busy={answer.isPending && answer.variables?.approve} busyLabel="Allowing…">
          Allow
        </Button>
        <Button kind="secondary" type="button" onClick={() => answer.mutate({ uid, approve: false, organizationId })} busy={answer.isPending && !answer.variables?.approve} busyLabel="Denying…">
          Deny
        </Button>
      </div>
    </Page>
  );
}
