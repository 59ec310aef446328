// The invitation link: sign in or create an account (with the invited address), then join.

import { useMutation } from '@connectrpc/connect-query';
import { useState } from 'react';
import { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { writeOrgCookie } from '../api.js';
import { Link, useLocation } from '../router.js';
import { useMe } from '../session.js';
import { Banner, Button, Loading, Page } from '../ui.js';

export function Invitation({ id }: { id: string }) {
  const { query, href } = useLocation();
  const [token] = useState(() => query.get('token') ?? '');
  const me = useMe();
  const accept = useMutation(OrgService.method.acceptInvitation, {
    onSuccess: (r) => r.organization && writeOrgCookie(r.organization.id),
  });
  const next = encodeURIComponent(href);
  if (me.isPending)
    return (
      <Page title="Invitation">
        <Loading what="your account" />
      </Page>
    );
  if (!me.data)
    return (
      <Page
        title="You are invited"
        intro="Someone invited you to join their organization on Latchkey. Sign in, or create an account, with the email address the invitation was sent to; you will come back here to accept it."
      >
        <div className="actions">
          <Link className="btn btn-primary" to={`/sign-in?next=${next}`}>
            Sign in to accept
          </Link>
          <Link className="btn btn-secondary" to={`/register?next=${next}`}>
            Create an account
          </Link>
        </div>
      </Page>
    );
  if (accept.isSuccess)
    return (
      <Page title="Invitation accepted">
        <Banner kind="success">
          You joined <strong>{accept.data.organization?.name}</strong> as {accept.data.organization?.role || 'member'}.
        </Banner>
        <p>
          <Link to="/organization">Open {accept.data.organization?.name}</Link>
        </p>
      </Page>
    );
  return (
    <Page
      title="Join the organization"
      intro={
        <>
          You are signed in as <strong>{me.data.user?.email}</strong>.
        </>
      }
    >
      {accept.isError && <Banner>This invitation cannot be accepted by this account: it may have expired, been revoked or used, or been sent to another email address.</Banner>}
      <Button type="button" onClick={() => accept.mutate({ invitationId: id, token })} busy={accept.isPending} busyLabel="Joining…">
        Accept invitation
      </Button>
    </Page>
  );
}
