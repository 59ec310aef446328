// Members and invitations: list, change a role (never above your own), remove, invite by email,
// pending invitations with revoke.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { OrgService } from '../../../gen/latchkey/v1/org_pb.js';
import { atLeast, RANK, useOrg } from '../session.js';
import { Banner, Button, Confirm, ErrorBanner, errorsOf, Field, fmt, Kv, Loading, Page, SelectField } from '../ui.js';

const ROLES = ['member', 'admin', 'root_admin'];

export function Members() {
  const { org, me } = useOrg();
  const admin = atLeast(org.role, 'admin');
  const members = useQuery(OrgService.method.listMembers, { organizationId: org.id, pageSize: 200 });
  const setRole = useMutation(OrgService.method.updateMemberRole);
  const remove = useMutation(OrgService.method.removeMember);
  const grantable = ROLES.filter((r) => RANK[r] <= (RANK[org.role] ?? 0));
  return (
    <Page title="Members" intro={`People in ${org.name}. You are ${org.role}.`}>
      <section aria-labelledby="members-h" className="card">
        <h2 id="members-h">Members</h2>
        <ErrorBanner error={members.error ?? setRole.error} />
        {members.isPending ? (
          <Loading what="members" />
        ) : (
          <ul className="items">
            {members.data?.members.map((m) => {
              const self = m.userId === me.id;
              const manageable = admin && !self && RANK[m.role] <= RANK[org.role];
              return (
                <li key={m.userId} className="item">
                  <p className="item-title">
                    {m.fullName || m.email} {self && <span className="tag">You</span>}
                  </p>
                  <Kv items={[['Email', m.email], ['Joined', fmt(m.joinedAt)], ...(manageable ? [] : [['Role', m.role] as [string, string]])]} />
                  {manageable && (
                    <div className="actions">
                      <SelectField
                        label={`Role of ${m.email}`}
                        value={m.role}
                        disabled={setRole.isPending}
                        onChange={(e) => setRole.mutate({ organizationId: org.id, userId: m.userId, role: e.target.value })}
                      >
                        {grantable.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </SelectField>
                      <Confirm
                        small
                        label={`Remove ${m.email}`}
                        title={`Remove ${m.email} from ${org.name}?`}
                        confirmLabel="Remove"
                        busy={remove.isPending}
                        onConfirm={() => remove.mutateAsync({ organizationId: org.id, userId: m.userId })}
                      >
                        <p>Their sessions lose access to this organization at once.</p>
                      </Confirm>
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </section>
      {admin ? <Invitations /> : <p>Only admins can invite people.</p>}
    </Page>
  );
}

function Invitations() {
  const { org } = useOrg();
  const invite = useMutation(OrgService.method.inviteMember);
  const pending = useQuery(OrgService.method.listInvitations, { organizationId: org.id, pageSize: 200 });
  const revoke = useMutation(OrgService.method.revokeInvitation);
  const errs = errorsOf(invite.error, ['email', 'role']);
  return (
    <>
      <section aria-labelledby="invite-h" className="card">
        <h2 id="invite-h">Invite someone</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const v = new FormData(form);
            invite.mutate({ organizationId: org.id, email: String(v.get('email')), role: String(v.get('role')) }, { onSuccess: () => form.reset() });
          }}
        >
          <Field label="Email address to invite" name="email" type="email" required error={errs.field('email')} />
          <SelectField label="Role" name="role" defaultValue="member" error={errs.field('role')}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </SelectField>
          <Banner>{errs.banner}</Banner>
          {invite.isSuccess && <Banner kind="success">Invitation sent to {invite.variables.email}.</Banner>}
          <Button type="submit" busy={invite.isPending} busyLabel="Sending invitation…">
            Send invitation
          </Button>
        </form>
      </section>
      <section aria-labelledby="pending-h" className="card">
        <h2 id="pending-h">Pending invitations</h2>
        <ErrorBanner error={pending.error} />
        {pending.isPending ? (
          <Loading what="invitations" />
        ) : pending.data?.invitations.length ? (
          <ul className="items">
            {pending.data.invitations.map((i) => (
              <li key={i.id} className="item">
                <p className="item-title">{i.email}</p>
                <Kv
                  items={[
                    ['Role', i.role],
                    ['Sent', fmt(i.createdAt)],
                    ['Expires', fmt(i.expiresAt)],
                  ]}
                />
                <Confirm
                  small
                  label={`Revoke invitation of ${i.email}`}
                  title={`Revoke the invitation of ${i.email}?`}
                  confirmLabel="Revoke invitation"
                  busy={revoke.isPending}
                  onConfirm={() => revoke.mutateAsync({ organizationId: org.id, invitationId: i.id })}
                >
                  <p>The emailed link stops working.</p>
                </Confirm>
              </li>
            ))}
          </ul>
        ) : (
          <p>No pending invitations.</p>
        )}
      </section>
    </>
  );
}
