// Profile → Authorized applications: the OAuth consents the user gave, each revocable.
import { useMutation, useQuery } from '@connectrpc/connect-query';
import { useQueryClient } from '@tanstack/react-query';
import { OAuthClientService } from '../../../gen/latchkey/v1/oauth_pb.js';
import { Confirm, ErrorBanner, fmt, Kv, Loading } from '../ui.js';

export function OAuthGrants() {
  const list = useQuery(OAuthClientService.method.listOAuthGrants, {});
  const qc = useQueryClient();
  const revoke = useMutation(OAuthClientService.method.revokeOAuthGrant, { onSuccess: () => qc.invalidateQueries() });
  return (
    <section aria-labelledby="grants-h" className="card">
      <h2 id="grants-h">Authorized applications</h2>
      <ErrorBanner error={list.error} />
      {list.isPending ? (
        <Loading what="authorized applications" />
      ) : list.data?.grants.length ? (
        <ul className="items">
          {list.data.grants.map((g) => (
            <li key={g.grantId} className="item">
              <p className="item-title">{g.clientName}</p>
              <Kv
                items={[
                  ['Access', g.scopes.join(', ') || '—'],
                  ['Allowed', fmt(g.createTime)],
                ]}
              />
              <Confirm
                small
                label={`Revoke ${g.clientName}`}
                title={`Revoke access of ${g.clientName}?`}
                confirmLabel="Revoke access"
                busy={revoke.isPending}
                onConfirm={() => revoke.mutateAsync({ grantId: g.grantId })}
              >
                <p>Its tokens stop working at once; it must ask you again.</p>
              </Confirm>
            </li>
          ))}
        </ul>
      ) : (
        <p>No application has access to your account.</p>
      )}
    </section>
  );
}
