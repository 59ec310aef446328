// Who is calling, as established from a verified credential (never from the request body).
// `scopes` are always expanded (no `read` / `write` shorthands): checks compare them as they are.
export type Principal =
  | { kind: 'session'; userId: string; sessionId: string }
  | {
      kind: 'jwt';
      userId: string;
      sessionId?: string;
      /** Set on exchanged tokens (SignInWithApiKey): the organization and narrowed scopes. */
      organizationId?: string;
      scopes?: string[];
      actor?: { keyId: string; userId: string };
      tokenId: string;
    }
  | {
      kind: 'apiKey';
      userId: string;
      keyId: string;
      scopes: string[];
      /** The key's organization (absent for a personal access token). */
      organizationId?: string;
      /** Pin from metadata.organizationId, or the client organization of a client key. */
      pinnedOrganizationId?: string;
      partner?: 'partner' | 'client';
    };

/** Where a scoped credential acts when the call names no organization: a key's pin or its own
 * organization, an exchanged token's organization; undefined for sessions and personal tokens. */
export function homeOrganizationOf(p: Principal): string | undefined {
  if (p.kind === 'apiKey') return p.pinnedOrganizationId ?? p.organizationId;
  if (p.kind === 'jwt') return p.organizationId;
  return undefined;
}
