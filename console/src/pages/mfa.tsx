// Two-factor authentication for the signed-in user: an authenticator app (QR code, first code,
// recovery codes shown once), passkeys (add, rename, remove), and the step-up prompt the
// sensitive operations ask for.
import { Code, ConnectError } from '@connectrpc/connect';
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { startRegistration } from '@simplewebauthn/browser';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorInfoSchema } from '../../../gen/google/rpc/error_details_pb.js';
import { MfaService } from '../../../gen/latchkey/v1/mfa_pb.js';
import { messageOf } from '../api.js';
import { useLocation } from '../router.js';
import { Banner, Button, Confirm, ErrorBanner, Field, fmt, Loading, Page } from '../ui.js';

/** True for the 403 that asks for a recent second factor. */
const needsStepUp = (e: unknown) => !!e && ConnectError.from(e).code === Code.PermissionDenied && ConnectError.from(e).findDetails(ErrorInfoSchema)[0]?.reason === 'SECOND_FACTOR_REQUIRED';

/** "Confirm it's you": a code (or recovery code) renews the session's second factor for 10 minutes. */
function StepUp({ onDone }: { onDone: () => void }) {
  const step = useMutation(MfaService.method.stepUp, { onSuccess: onDone });
  return (
    <form className="card" aria-label="Confirm it is you" onSubmit={(e) => (e.preventDefault(), step.mutate({ code: String(new FormData(e.currentTarget).get('code')) }))}>
      <p>This change needs your second factor again (once every 10 minutes).</p>
      <Field label="Code from your authenticator app, or a recovery code" name="code" autoComplete="one-time-code" required maxLength={32} />
      <ErrorBanner error={step.error} />
      <Button type="submit" busy={step.isPending} busyLabel="Checking…">
        Confirm
      </Button>
    </form>
  );
}

export function TwoFactor() {
  const { query } = useLocation();
  const status = useQuery(MfaService.method.getSecondFactors, {});
  const [stepUp, setStepUp] = useState<() => void>();
  const ask = (e: unknown, retry: () => void) => (needsStepUp(e) ? setStepUp(() => retry) : undefined);
  return (
    <Page title="Two-factor authentication" intro="A second factor keeps your account safe when your password is not.">
      {query.get('required') && !status.data?.totpEnabled && !status.data?.passkeys.length && (
        <Banner kind="info">An organization you belong to requires a second factor. Set one up below to keep working in it.</Banner>
      )}
      {stepUp && (
        <StepUp
          onDone={() => {
            const retry = stepUp;
            setStepUp(undefined);
            retry();
          }}
        />
      )}
      {status.isPending ? (
        <Loading what="your second factors" />
      ) : status.error ? (
        <ErrorBanner error={status.error} />
      ) : (
        <>
          <Authenticator enabled={status.data.totpEnabled} remaining={status.data.recoveryCodesRemaining} onNeedStepUp={ask} />
          <Passkeys passkeys={status.data.passkeys} onNeedStepUp={ask} />
        </>
      )}
    </Page>
  );
}

type StepUpAsk = (e: unknown, retry: () => void) => void;

function Authenticator({ enabled, remaining, onNeedStepUp }: { enabled: boolean; remaining: number; onNeedStepUp: StepUpAsk }) {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries();
  const enrol = useMutation(MfaService.method.enrollTotp);
  const confirm = useMutation(MfaService.method.confirmTotp, { onSuccess: refresh });
  const disable = useMutation(MfaService.method.disableTotp, { onSuccess: refresh });
  const [codes, setCodes] = useState<string[]>();
  const start = () => enrol.mutate({}, { onError: (e) => onNeedStepUp(e, start) });

  if (codes)
    return (
      <section aria-labelledby="codes-h" className="card">
        <h2 id="codes-h">Your recovery codes</h2>
        <Banner kind="success">The authenticator app is on.</Banner>
        <p>Each code works once if you lose your phone. They are shown only now: save them somewhere safe.</p>
        <ul className="recovery-codes" aria-label="Recovery codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <Button type="button" onClick={() => setCodes(undefined)}>
          I have saved them
        </Button>
      </section>
    );

  return (
    <section aria-labelledby="totp-h" className="card">
      <h2 id="totp-h">Authenticator app</h2>
      {enabled ? (
        <>
          <p>On. {remaining} recovery codes left.</p>
          <form onSubmit={(e) => (e.preventDefault(), disable.mutate({ code: String(new FormData(e.currentTarget).get('code')) }))}>
            <Field label="Current code (to turn it off)" name="code" autoComplete="one-time-code" required maxLength={32} />
            <ErrorBanner error={disable.error} />
            <Button type="submit" kind="danger" busy={disable.isPending} busyLabel="Turning off…">
              Turn off
            </Button>
          </form>
        </>
      ) : enrol.data ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            confirm.mutate({ code: String(new FormData(e.currentTarget).get('code')) }, { onSuccess: (r) => setCodes(r.recoveryCodes) });
          }}
        >
          <p>Scan this QR code with your authenticator app, then enter the code it shows.</p>
          <img src={enrol.data.qrCodeDataUrl} alt="QR code for your authenticator app" width={200} height={200} />
          <p>
            Or type this key: <code data-testid="totp-secret">{enrol.data.secret}</code>
          </p>
          <Field label="6-digit code" name="code" inputMode="numeric" autoComplete="one-time-code" required maxLength={6} />
          <ErrorBanner error={confirm.error} />
          <Button type="submit" busy={confirm.isPending} busyLabel="Checking…">
            Turn on
          </Button>
        </form>
      ) : (
        <>
          <p>Off.</p>
          <ErrorBanner error={needsStepUp(enrol.error) ? undefined : enrol.error} />
          <Button type="button" onClick={start} busy={enrol.isPending}>
            Set up an authenticator app
          </Button>
        </>
      )}
    </section>
  );
}

function Passkeys({ passkeys, onNeedStepUp }: { passkeys: { id: string; name: string; createTime?: Parameters<typeof fmt>[0]; lastUsedTime?: Parameters<typeof fmt>[0] }[]; onNeedStepUp: StepUpAsk }) {
  const qc = useQueryClient();
  const refresh = () => qc.invalidateQueries();
  const options = useMutation(MfaService.method.startPasskeyRegistration);
  const add = useMutation(MfaService.method.addPasskey, { onSuccess: refresh });
  const rename = useMutation(MfaService.method.renamePasskey, { onSuccess: refresh });
  const remove = useMutation(MfaService.method.deletePasskey, { onSuccess: refresh });
  const [error, setError] = useState<string>();
  const [added, setAdded] = useState(false);

  async function addPasskey(name: string) {
    setError(undefined);
    setAdded(false);
    try {
      const o = await options.mutateAsync({});
      const response = await startRegistration({ optionsJSON: JSON.parse(o.optionsJson) });
      await add.mutateAsync({ challengeToken: o.challengeToken, responseJson: JSON.stringify(response), name });
      setAdded(true);
    } catch (e) {
      if (needsStepUp(e)) return onNeedStepUp(e, () => addPasskey(name));
      setError(e instanceof Error && e.name === 'NotAllowedError' ? 'The passkey prompt was closed or timed out.' : messageOf(e));
    }
  }

  return (
    <section aria-labelledby="passkeys-h" className="card">
      <h2 id="passkeys-h">Passkeys</h2>
      {passkeys.length === 0 ? (
        <p>No passkeys yet.</p>
      ) : (
        <table>
          <caption className="visually-hidden">Your passkeys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Added</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {passkeys.map((p) => (
              <tr key={p.id}>
                <td>{p.name}</td>
                <td>{fmt(p.createTime)}</td>
                <td>{fmt(p.lastUsedTime, 'Never')}</td>
                <td>
                  <Button
                    type="button"
                    kind="secondary"
                    onClick={() => {
                      const name = window.prompt('New name for this passkey', p.name);
                      if (name) rename.mutate({ passkeyId: p.id, name });
                    }}
                  >
                    Rename <span className="visually-hidden">{p.name}</span>
                  </Button>
                  <Confirm
                    label={`Remove ${p.name}`}
                    title={`Remove the passkey "${p.name}"?`}
                    confirmLabel="Remove"
                    small
                    onConfirm={() =>
                      remove.mutateAsync({ passkeyId: p.id }).catch((e) => {
                        if (!needsStepUp(e)) throw e;
                        onNeedStepUp(e, () => remove.mutate({ passkeyId: p.id }));
                      })
                    }
                  >
                    You will no longer be able to sign in with it.
                  </Confirm>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={(e) => (e.preventDefault(), addPasskey(String(new FormData(e.currentTarget).get('name') ?? '')))}>
        <Field label="Name for the new passkey" name="name" defaultValue="Passkey" maxLength={100} />
        <Banner>{error}</Banner>
        <ErrorBanner error={rename.error} />
        {added && <Banner kind="success">Passkey added.</Banner>}
        <Button type="submit" busy={options.isPending || add.isPending} busyLabel="Waiting for your passkey…">
          Add a passkey
        </Button>
      </form>
    </section>
  );
}
