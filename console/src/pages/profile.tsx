// Profile: name, verified state, password (set a first one after a magic-link sign-up, or change
// it), and the account's sessions with revoke.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useState } from 'react';
import { AuthService } from '../../../gen/latchkey/v1/auth_pb.js';
import { useOrg } from '../session.js';
import { Banner, Button, ErrorBanner, errorsOf, Field, fmt, Kv, Loading, Page } from '../ui.js';
import { OAuthGrants } from './oauth-grants.js';

export function Profile() {
  const { me } = useOrg();
  const rename = useMutation(AuthService.method.updateMe);
  const errs = errorsOf(rename.error, ['fullName']);
  return (
    <Page title="Profile">
      <section aria-labelledby="account-h" className="card">
        <h2 id="account-h">Account</h2>
        <Kv
          items={[
            ['Email', me.email],
            ['Email verified', me.isVerified ? `Yes, on ${fmt(me.verifiedAt)}` : 'Not yet: open the link we emailed you'],
            ['User ID', <code key="id">{me.id}</code>],
            ['Last sign-in', fmt(me.lastLoginAt)],
          ]}
        />
        <form onSubmit={(e) => (e.preventDefault(), rename.mutate({ fullName: String(new FormData(e.currentTarget).get('fullName')) }))}>
          <Field label="Name" name="fullName" autoComplete="name" defaultValue={me.fullName} key={me.fullName} error={errs.field('fullName')} />
          <Banner>{errs.banner}</Banner>
          {rename.isSuccess && <Banner kind="success">Name saved.</Banner>}
          <Button type="submit" busy={rename.isPending} busyLabel="Saving…">
            Save name
          </Button>
        </form>
      </section>
      <PasswordSection />
      <Sessions />
      <OAuthGrants />
    </Page>
  );
}

function PasswordSection() {
  const status = useQuery(AuthService.method.getPasswordStatus, {});
  const set = useMutation(AuthService.method.setPassword);
  const [formKey, setFormKey] = useState(0);
  const errs = errorsOf(set.error, ['currentPassword', 'newPassword']);
  const has = status.data?.hasPassword;
  return (
    <section aria-labelledby="password-h" className="card">
      <h2 id="password-h">Password</h2>
      {status.isPending ? (
        <Loading what="password settings" />
      ) : (
        <form
          key={formKey}
          onSubmit={(e) => {
            e.preventDefault();
            const v = new FormData(e.currentTarget);
            set.mutate({ currentPassword: String(v.get('currentPassword') ?? ''), newPassword: String(v.get('newPassword')) }, { onSuccess: () => setFormKey((k) => k + 1) });
          }}
        >
          {!has && <p>Your account has no password yet (you signed in with an email link). Set one to sign in with it too.</p>}
          {has && <Field label="Current password" name="currentPassword" type="password" autoComplete="current-password" required error={errs.field('currentPassword')} />}
          <Field
            label="New password"
            name="newPassword"
            type="password"
            autoComplete="new-password"
            required
            hint="At least 10 characters. Your other sessions will be signed out."
            error={errs.field('newPassword')}
          />
          <Banner>{errs.banner}</Banner>
          {set.isSuccess && <Banner kind="success">Password saved. Your other sessions were signed out.</Banner>}
          <Button type="submit" busy={set.isPending} busyLabel="Saving…">
            {has ? 'Change password' : 'Set password'}
          </Button>
        </form>
      )}
    </section>
  );
}

function Sessions() {
  const list = useQuery(AuthService.method.listSessions, { pageSize: 100 });
  const revoke = useMutation(AuthService.method.revokeSession);
  const [busyAll, setBusyAll] = useState(false);
  const others = list.data?.sessions.filter((s) => !s.current) ?? [];
  return (
    <section aria-labelledby="sessions-h" className="card">
      <h2 id="sessions-h">Sessions</h2>
      <ErrorBanner error={list.error ?? revoke.error} />
      {list.isPending ? (
        <Loading what="sessions" />
      ) : (
        <>
          <ul className="items">
            {list.data?.sessions.map((s) => (
              <li key={s.id} className="item">
                <p className="item-title">
                  {s.userAgent || 'Unknown client'} {s.current && <span className="tag">This session</span>}
                </p>
                <Kv
                  items={[
                    ['IP address', s.ip || '—'],
                    ['Signed in', fmt(s.createdAt)],
                    ['Last active', fmt(s.lastSeenAt)],
                    ['Ends', fmt(s.expiresAt)],
                  ]}
                />
                {!s.current && (
                  <Button
                    kind="secondary"
                    className="btn btn-secondary btn-small"
                    type="button"
                    onClick={() => revoke.mutate({ sessionId: s.id })}
                    busy={revoke.isPending && revoke.variables?.sessionId === s.id}
                    busyLabel="Revoking…"
                    aria-label={`Revoke session from ${s.ip || 'unknown address'} started ${fmt(s.createdAt)}`}
                  >
                    Revoke
                  </Button>
                )}
              </li>
            ))}
          </ul>
          {others.length > 0 && (
            <Button
              kind="danger"
              type="button"
              busy={busyAll}
              busyLabel="Signing out other sessions…"
              onClick={async () => {
                setBusyAll(true);
                try {
                  for (const s of others) await revoke.mutateAsync({ sessionId: s.id });
                } catch {
                  /* shown by the banner */
                } finally {
                  setBusyAll(false);
                }
              }}
            >
              Sign out all other sessions ({others.length})
            </Button>
          )}
        </>
      )}
    </section>
  );
}
