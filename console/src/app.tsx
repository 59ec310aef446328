// Routes: the pages that emailed links and signed-out visitors open, and the signed-in console.

import { useMutation } from '@connectrpc/connect-query';
import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect } from 'react';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import { clearOrgCookie, isUnauthenticated } from './api.js';
import { ApiKeys } from './pages/api-keys.js';
import { Audit } from './pages/audit.js';
import { ForgotPassword, MagicCode, MagicLinkRedirect, Register, ResetPassword, SignIn, VerifyEmail } from './pages/auth.js';
import { Invitation } from './pages/invitation.js';
import { Members } from './pages/members.js';
import { TwoFactor } from './pages/mfa.js';
import { OAuthConsent } from './pages/oauth-consent.js';
import { OrganizationSettings } from './pages/organization.js';
import { Partner } from './pages/partner.js';
import { SecurityPolicy } from './pages/policy.js';
import { Profile } from './pages/profile.js';
import { Sso } from './pages/sso.js';
import { Webhooks } from './pages/webhooks.js';
import { Link, navigate, useLocation } from './router.js';
import { OrgProvider, useMe, useOrg } from './session.js';
import { Banner, ErrorBanner, Loading, SelectField } from './ui.js';

const PUBLIC: Record<string, () => ReactNode> = {
  '/sign-in': SignIn,
  '/register': Register,
  '/forgot-password': ForgotPassword,
  '/reset-password': ResetPassword,
  '/verify-email': VerifyEmail,
  '/magic-link/redirect': MagicLinkRedirect,
  '/magic-link/code': MagicCode,
};

const CONSOLE: { path: string; label: string; page: () => ReactNode }[] = [
  { path: '/organization', label: 'Organization', page: OrganizationSettings },
  { path: '/api-keys', label: 'API keys', page: ApiKeys },
  { path: '/members', label: 'Members', page: Members },
  { path: '/partner', label: 'Partner Experience', page: Partner },
  { path: '/audit', label: 'Audit log', page: Audit },
  { path: '/webhooks', label: 'Webhooks', page: Webhooks },
  { path: '/sso', label: 'Single sign-on', page: Sso },
  { path: '/profile', label: 'Profile', page: Profile },
  { path: '/two-factor', label: 'Two-factor', page: TwoFactor },
  { path: '/security-policy', label: 'Security policy', page: SecurityPolicy },
];

export function App() {
  const { path } = useLocation();
  const Public = PUBLIC[path];
  if (Public)
    return (
      <Frame>
        <Public />
      </Frame>
    );
  if (path.startsWith('/oauth-consent/'))
    return (
      <Frame>
        <OAuthConsent uid={decodeURIComponent(path.slice('/oauth-consent/'.length))} />
      </Frame>
    );
  if (path.startsWith('/invitations/'))
    return (
      <Frame>
        <Invitation id={decodeURIComponent(path.slice('/invitations/'.length))} />
      </Frame>
    );
  return <SignedIn path={path} />;
}

/** The signed-out frame: brand and content, nothing that needs a session. */
function Frame({ children, header }: { children: ReactNode; header?: ReactNode }) {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          Latchkey
        </Link>
        {header}
      </header>
      <main id="main" className="main">
        {children}
      </main>
    </>
  );
}

function SignedIn({ path }: { path: string }) {
  const me = useMe();
  const { href } = useLocation();
  const unauthenticated = isUnauthenticated(me.error);
  useEffect(() => {
    if (unauthenticated) navigate(`/sign-in?next=${encodeURIComponent(href)}`, { replace: true });
  }, [unauthenticated, href]);
  useEffect(() => {
    if (path === '/' && me.data) navigate('/organization', { replace: true });
  }, [path, me.data]);
  if (me.isPending || unauthenticated)
    return (
      <Frame>
        <Loading what="your account" />
      </Frame>
    );
  if (me.error)
    return (
      <Frame>
        <ErrorBanner error={me.error} />
      </Frame>
    );
  const user = me.data.user!;
  const route = CONSOLE.find((r) => r.path === path);
  return (
    <OrgProvider
      me={user}
      fallback={
        <Frame>
          <Loading what="your organizations" />
        </Frame>
      }
    >
      <Frame header={<ConsoleHeader />}>
        {!user.isVerified && (
          <Banner kind="info">
            Check your email: we sent a verification link to <strong>{user.email}</strong>. Open it to confirm the address.
          </Banner>
        )}
        {route ? <route.page /> : path === '/' ? <Loading what="the console" /> : <NotFound />}
      </Frame>
    </OrgProvider>
  );
}

function ConsoleHeader() {
  const { org, orgs, select, me } = useOrg();
  const { path } = useLocation();
  const qc = useQueryClient();
  const signOut = useMutation(AuthService.method.signOut, {
    onSuccess: () => {
      clearOrgCookie();
      qc.clear();
      navigate('/sign-in');
    },
  });
  return (
    <>
      <nav aria-label="Console">
        <ul>
          {CONSOLE.map((r) => (
            <li key={r.path}>
              <Link to={r.path} aria-current={path === r.path ? 'page' : undefined}>
                {r.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="switcher">
        <SelectField label="Organization" value={org.id} onChange={(e) => select(e.target.value)}>
          {orgs.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name || o.slug}
            </option>
          ))}
        </SelectField>
        <span className="who">{me.email}</span>
        <button type="button" className="btn btn-secondary btn-small" onClick={() => signOut.mutate({})} disabled={signOut.isPending}>
          {signOut.isPending ? 'Signing out…' : 'Sign out'}
        </button>
        <ErrorBanner error={signOut.error} />
      </div>
    </>
  );
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        <Link to="/organization">Go to your organization</Link>
      </p>
    </>
  );
}
