// Who is signed in (GetMe over the session cookie) and which organization the console acts in:
// the `orgid` cookie remembers it on this site (seed 000), the switcher changes it.

import { useQuery } from '@connectrpc/connect-query';
import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';
import { AuthService } from '../../gen/latchkey/v1/auth_pb.js';
import type { Organization, User } from '../../gen/latchkey/v1/common_pb.js';
import { OrgService } from '../../gen/latchkey/v1/org_pb.js';
import { readOrgCookie, writeOrgCookie } from './api.js';

export const useMe = () => useQuery(AuthService.method.getMe, {}, { retry: false });

interface OrgState {
  me: User;
  org: Organization;
  orgs: Organization[];
  select(id: string): void;
}

const Ctx = createContext<OrgState | null>(null);

export function useOrg(): OrgState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useOrg outside OrgProvider');
  return s;
}

export const RANK: Record<string, number> = { member: 1, admin: 2, root_admin: 3 };
export const atLeast = (role: string, min: 'member' | 'admin' | 'root_admin') => (RANK[role] ?? 0) >= RANK[min];

export function OrgProvider({ me, children, fallback }: { me: User; children: ReactNode; fallback: ReactNode }) {
  const list = useQuery(OrgService.method.listMyOrganizations, { pageSize: 200 });
  const [chosen, setChosen] = useState(readOrgCookie());
  const qc = useQueryClient();
  const orgs = list.data?.organizations ?? [];
  const org = orgs.find((o) => o.id === chosen) ?? orgs.find((o) => o.role === 'root_admin') ?? orgs[0];
  useEffect(() => {
    if (org && readOrgCookie() !== org.id) writeOrgCookie(org.id);
  }, [org]);
  const value = useMemo(
    () =>
      org && {
        me,
        org,
        orgs,
        select(id: string) {
          writeOrgCookie(id);
          setChosen(id);
          void qc.invalidateQueries();
        },
      },
    [me, org, orgs, qc],
  );
  if (!value) return <>{list.isPending ? fallback : list.error ? fallback : <p>You are not a member of any organization.</p>}</>;
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
