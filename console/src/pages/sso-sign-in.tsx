// The sign-in page's email-first step: once an email is typed, ask whether its domain signs in
// through an organization's SSO, and offer (or, when required, insist on) the IdP.
import { useMutation } from '@connectrpc/connect-query';
import { useState } from 'react';
import { SsoService } from '../../../gen/latchkey/v1/sso_pb.js';
import { Banner } from '../ui.js';

export function useSsoLookup() {
  const lookup = useMutation(SsoService.method.lookupSsoDomain);
  const [email, setEmail] = useState('');
  const found = lookup.data?.sso && lookup.variables?.email === email ? lookup.data : undefined;
  return {
    check(value: string) {
      const v = value.trim();
      setEmail(v);
      if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) lookup.mutate({ email: v });
    },
    banner: found ? (
      <Banner kind="info">
        {email} signs in with {found.connectionName}. <a href={found.redirectUrl}>Continue with single sign-on</a>
        {found.ssoRequired && ' (password sign-in is turned off for this domain)'}
      </Banner>
    ) : null,
  };
}
