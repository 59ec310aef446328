// Signed-out pages and the pages emailed links open: register (or a magic link from the same
// form), sign in, the magic link and 6-digit code, email verification, password reset.

import { useMutation } from '@connectrpc/connect-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { AuthService } from '../../../gen/latchkey/v1/auth_pb.js';
import { isUnauthenticated } from '../api.js';
import { Link, navigate, safeNext, useLocation } from '../router.js';
import { useMe } from '../session.js';
import { Banner, Button, errorsOf, Field, Loading, Page } from '../ui.js';
import { afterSignIn, type FirstFactor, PasskeySignInButton, SecondFactorStep } from './mfa-challenge.js';
import { useSsoLookup } from './sso-sign-in.js';

const values = (e: FormEvent<HTMLFormElement>) => Object.fromEntries(new FormData(e.currentTarget)) as Record<string, string>;

/** Run once on mount, even if React mounts twice: a one-time token must be spent once. */
function useOnce(fn: () => void) {
  const done = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on mount only; a one-time token is spent once
  useEffect(() => {
    if (!done.current) {
      done.current = true;
      fn();
    }
  }, []);
}

/** Take the one-time token out of the address bar (and history) once read. */
function takeToken(): string {
  const u = new URL(window.location.href);
  const token = u.searchParams.get('token') ?? '';
  if (token) {
    u.searchParams.delete('token');
    window.history.replaceState(null, '', u.pathname + u.search);
  }
  return token;
}

export function SignIn() {
  const { query } = useLocation();
  const next = safeNext(query.get('next'));
  const [challenge, setChallenge] = useState<FirstFactor>();
  // An email at an SSO domain signed in without a password answers with the IdP to go to.
  const signIn = useMutation(AuthService.method.signIn, {
    onSuccess: (r) => (r.ssoRedirectUrl ? window.location.assign(r.ssoRedirectUrl) : r.secondFactorChallenge ? setChallenge(r) : afterSignIn(r, next)),
  });
  const errs = errorsOf(signIn.error, ['email', 'password']);
  const sso = useSsoLookup();
  if (challenge) return <SecondFactorStep challenge={challenge} next={next} />;
  return (
    <Page title="Sign in">
      <form className="card" onSubmit={(e) => (e.preventDefault(), signIn.mutate(values(e)))}>
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errs.field('email')} onBlur={(e) => sso.check(e.currentTarget.value)} />
        {sso.banner}
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={errs.field('password')} />
        <Banner>{errs.banner}</Banner>
        <Button type="submit" busy={signIn.isPending} busyLabel="Signing in…">
          Sign in
        </Button>
      </form>
      <PasskeySignInButton next={next} />
      <ul className="links">
        <li>
          <Link to={`/register${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>Create an account, or get a sign-in link by email</Link>
        </li>
        <li>
          <Link to="/forgot-password">Forgot your password?</Link>
        </li>
      </ul>
    </Page>
  );
}

export function Register() {
  const { query } = useLocation();
  const next = safeNext(query.get('next'));
  const [sent, setSent] = useState<{ email: string; type: string } | null>(null);
  const [emailError, setEmailError] = useState<string>();
  const form = useRef<HTMLFormElement>(null);
  const signIn = useMutation(AuthService.method.signIn);
  const signUp = useMutation(AuthService.method.signUp);
  const magic = useMutation(AuthService.method.requestMagicLink);
  const errs = errorsOf(signUp.error ?? magic.error, ['name', 'email', 'password']);

  async function register(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const v = values(e);
    try {
      await signUp.mutateAsync({ name: v.name, email: v.email, password: v.password });
    } catch {
      return; // shown next to its field or as a banner
    }
    // Sign-up does not sign in; the person just typed the password, so do it for them.
    try {
      await signIn.mutateAsync({ email: v.email, password: v.password });
      navigate(next);
    } catch {
      setSent({ email: v.email, type: 'verify' }); // this server wants the address verified first
    }
  }

  async function sendLink() {
    const data = new FormData(form.current!);
    const email = String(data.get('email') ?? '').trim();
    const type = String(data.get('magicType') ?? 'link');
    if (!email) return setEmailError('Enter your email address first');
    setEmailError(undefined);
    try {
      await magic.mutateAsync({ email, type });
    } catch {
      return;
    }
    if (type === 'code') navigate(`/magic-link/code?email=${encodeURIComponent(email)}`);
    else setSent({ email, type });
  }

  if (sent)
    return (
      <Page title="Check your email">
        <Banner kind="success">
          {sent.type === 'verify' ? 'We sent a verification link to ' : 'We sent a sign-in link to '}
          <strong>{sent.email}</strong>. Open it on this device to continue; it works once.
        </Banner>
        <p>
          Nothing arrived? Check your spam folder, or{' '}
          <button type="button" className="linklike" onClick={() => setSent(null)}>
            try again
          </button>
          .
        </p>
      </Page>
    );

  return (
    <Page title="Create your account" intro="Sign up with a password, or get a one-time sign-in link (or code) by email: you can set a password later from your profile.">
      <form className="card" ref={form} onSubmit={register}>
        <Field label="Name" name="name" autoComplete="name" required error={errs.field('name')} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={emailError ?? errs.field('email')} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required hint="At least 10 characters." error={errs.field('password')} />
        <Banner>{errs.banner}</Banner>
        <Button type="submit" busy={signUp.isPending || signIn.isPending} busyLabel="Creating your account…">
          Create account
        </Button>
        <fieldset className="magic">
          <legend>Or sign in without a password</legend>
          <div className="radios">
            <label>
              <input type="radio" name="magicType" value="link" defaultChecked /> Email me a link
            </label>
            <label>
              <input type="radio" name="magicType" value="code" /> Email me a 6-digit code
            </label>
          </div>
          <Button type="button" kind="secondary" onClick={sendLink} busy={magic.isPending} busyLabel="Sending…">
            Send sign-in email
          </Button>
        </fieldset>
      </form>
      <p>
        Already have an account? <Link to={`/sign-in${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>Sign in</Link>
      </p>
    </Page>
  );
}

export function MagicLinkRedirect() {
  const [challenge, setChallenge] = useState<FirstFactor>();
  const redeem = useMutation(AuthService.method.redeemMagicLink, { onSuccess: (r) => (r.secondFactorChallenge ? setChallenge(r) : afterSignIn(r, '/')) });
  useOnce(() => {
    const token = takeToken();
    if (token) redeem.mutate({ token });
  });
  if (challenge) return <SecondFactorStep challenge={challenge} next="/" />;
  return (
    <Page title="Signing you in">
      {redeem.isError ? (
        <>
          <Banner>This sign-in link has already been used or has expired. Links work once, for 15 minutes.</Banner>
          <p>
            <Link to="/register">Request a new sign-in link</Link> or <Link to="/sign-in">sign in with your password</Link>.
          </p>
        </>
      ) : redeem.isIdle ? (
        <Banner>This page needs the link from your sign-in email.</Banner>
      ) : (
        <Loading what="your session" />
      )}
    </Page>
  );
}

export function MagicCode() {
  const { query } = useLocation();
  const [challenge, setChallenge] = useState<FirstFactor>();
  const redeem = useMutation(AuthService.method.redeemMagicLink, { onSuccess: (r) => (r.secondFactorChallenge ? setChallenge(r) : afterSignIn(r, '/')) });
  const errs = errorsOf(redeem.error, ['email', 'code']);
  if (challenge) return <SecondFactorStep challenge={challenge} next="/" />;
  return (
    <Page title="Enter your code" intro="We emailed you a 6-digit code. It works once, for 10 minutes.">
      <form className="card" onSubmit={(e) => (e.preventDefault(), redeem.mutate(values(e)))}>
        <Field label="Email" name="email" type="email" autoComplete="email" required defaultValue={query.get('email') ?? ''} error={errs.field('email')} />
        <Field label="6-digit code" name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required error={errs.field('code')} />
        <Banner>{isUnauthenticated(redeem.error) ? 'That code is wrong, used or expired. Check the latest email, or request a new code.' : errs.banner}</Banner>
        <Button type="submit" busy={redeem.isPending} busyLabel="Checking…">
          Sign in
        </Button>
      </form>
      <p>
        <Link to="/register">Request a new code</Link>
      </p>
    </Page>
  );
}

export function VerifyEmail() {
  const verify = useMutation(AuthService.method.verifyEmail);
  const me = useMe();
  useOnce(() => {
    const token = takeToken();
    if (token) verify.mutate({ token });
  });
  const signedIn = !!me.data;
  return (
    <Page title="Verify your email">
      {verify.isSuccess ? (
        <>
          <Banner kind="success">
            Your email address <strong>{verify.data.user?.email}</strong> is verified.
          </Banner>
          <p>{signedIn ? <Link to="/organization">Continue to the console</Link> : <Link to="/sign-in">Sign in to continue</Link>}</p>
        </>
      ) : verify.isError ? (
        <>
          <Banner>{verify.error.rawMessage}</Banner>
          <p>{signedIn ? <Link to="/profile">Go to your profile</Link> : <Link to="/sign-in">Sign in</Link>}</p>
        </>
      ) : verify.isIdle ? (
        <Banner>This page needs the link from your verification email.</Banner>
      ) : (
        <Loading what="your verification" />
      )}
    </Page>
  );
}

export function ForgotPassword() {
  const request = useMutation(AuthService.method.requestPasswordReset);
  const errs = errorsOf(request.error, ['email']);
  if (request.isSuccess)
    return (
      <Page title="Check your email">
        <Banner kind="success">If an account uses {request.variables.email}, we sent it a link to choose a new password. It works once, for 1 hour.</Banner>
      </Page>
    );
  return (
    <Page title="Reset your password">
      <form className="card" onSubmit={(e) => (e.preventDefault(), request.mutate(values(e)))}>
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errs.field('email')} />
        <Banner>{errs.banner}</Banner>
        <Button type="submit" busy={request.isPending} busyLabel="Sending…">
          Email me a reset link
        </Button>
      </form>
    </Page>
  );
}

export function ResetPassword() {
  const [token] = useState(takeToken);
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation(AuthService.method.resetPassword);
  const errs = errorsOf(reset.error, ['newPassword']);
  if (reset.isSuccess)
    return (
      <Page title="Password changed">
        <Banner kind="success">Your new password is set, and every session of your account was signed out.</Banner>
        <p>
          <Link to="/sign-in">Sign in with your new password</Link>
        </p>
      </Page>
    );
  return (
    <Page title="Choose a new password">
      {!token && <Banner>This page needs the link from your password-reset email.</Banner>}
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          const v = values(e);
          setMismatch(v.newPassword !== v.confirm);
          if (v.newPassword === v.confirm) reset.mutate({ token, newPassword: v.newPassword });
        }}
      >
        <Field label="New password" name="newPassword" type="password" autoComplete="new-password" required hint="At least 10 characters." error={errs.field('newPassword')} />
        <Field label="Repeat the new password" name="confirm" type="password" autoComplete="new-password" required error={mismatch ? 'The two passwords differ' : undefined} />
        <Banner>{errs.banner}</Banner>
        <Button type="submit" busy={reset.isPending} busyLabel="Saving…" disabled={!token}>
          Set new password
        </Button>
      </form>
    </Page>
  );
}
