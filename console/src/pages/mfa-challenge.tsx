// The sign-in page's second step: a TOTP code, a recovery code or a passkey completes the challenge
// that SignIn / RedeemMagicLink answered with. Also the passwordless "Sign in with a passkey" button.
import { useMutation } from '@connectrpc/connect-query';
import { startAuthentication } from '@simplewebauthn/browser';
import { useState } from 'react';
import { MfaService } from '../../../gen/latchkey/v1/mfa_pb.js';
import { messageOf } from '../api.js';
import { navigate } from '../router.js';
import { Banner, Button, Field, Page } from '../ui.js';

/** What a first factor answered: a challenge, or a session (maybe one that must enrol a second factor). */
export interface FirstFactor {
  secondFactorChallenge: string;
  secondFactorMethods: string[];
  secondFactorEnrolmentRequired: boolean;
}

/** Where to go once signed in: to enrol first when an organization's policy says so. */
export const afterSignIn = (r: { secondFactorEnrolmentRequired: boolean }, next: string) => navigate(r.secondFactorEnrolmentRequired ? '/two-factor?required=1' : next, { replace: true });

export function SecondFactorStep({ challenge, next }: { challenge: FirstFactor; next: string }) {
  const complete = useMutation(MfaService.method.completeSecondFactor, { onSuccess: (r) => afterSignIn(r, next) });
  const options = useMutation(MfaService.method.startPasskeyAssertion);
  const [passkeyError, setPasskeyError] = useState<string>();
  const token = challenge.secondFactorChallenge;
  const hasPasskey = challenge.secondFactorMethods.includes('passkey');
  const hasCode = challenge.secondFactorMethods.includes('totp');

  async function withPasskey() {
    setPasskeyError(undefined);
    try {
      const o = await options.mutateAsync({ challengeToken: token });
      const assertion = await startAuthentication({ optionsJSON: JSON.parse(o.optionsJson) });
      await complete.mutateAsync({ challengeToken: token, passkeyResponseJson: JSON.stringify(assertion) });
    } catch (e) {
      setPasskeyError(e instanceof Error && e.name === 'NotAllowedError' ? 'The passkey prompt was closed or timed out.' : messageOf(e));
    }
  }

  return (
    <Page title="Two-factor authentication" intro="Your account has a second factor. Confirm it is you to finish signing in.">
      {hasCode && (
        <form className="card" onSubmit={(e) => (e.preventDefault(), complete.mutate({ challengeToken: token, code: String(new FormData(e.currentTarget).get('code')) }))}>
          <Field label="Code from your authenticator app, or a recovery code" name="code" autoComplete="one-time-code" required maxLength={32} />
          <Banner>{complete.error && !passkeyError ? messageOf(complete.error) : undefined}</Banner>
          <Button type="submit" busy={complete.isPending} busyLabel="Checking…">
            Verify
          </Button>
        </form>
      )}
      {hasPasskey && (
        <div className="card">
          <Banner>{passkeyError}</Banner>
          <Button type="button" kind={hasCode ? 'secondary' : 'primary'} onClick={withPasskey} busy={options.isPending} busyLabel="Waiting for your passkey…">
            Use a passkey
          </Button>
        </div>
      )}
    </Page>
  );
}

/** Passwordless: any passkey of this site (discoverable credential) signs in on its own. */
export function PasskeySignInButton({ next }: { next: string }) {
  const options = useMutation(MfaService.method.startPasskeyAssertion);
  const complete = useMutation(MfaService.method.completeSecondFactor, { onSuccess: (r) => afterSignIn(r, next) });
  const [error, setError] = useState<string>();
  async function go() {
    setError(undefined);
    try {
      const o = await options.mutateAsync({ challengeToken: '' });
      const assertion = await startAuthentication({ optionsJSON: JSON.parse(o.optionsJson) });
      await complete.mutateAsync({ challengeToken: o.challengeToken, passkeyResponseJson: JSON.stringify(assertion) });
    } catch (e) {
      setError(e instanceof Error && e.name === 'NotAllowedError' ? 'The passkey prompt was closed or timed out.' : messageOf(e));
    }
  }
  return (
    <div className="card">
      <Banner>{error}</Banner>
      <Button type="button" kind="secondary" onClick={go} busy={options.isPending || complete.isPending} busyLabel="Waiting for your passkey…">
        Continue with a passkey
      </Button>
    </div>
  );
}
