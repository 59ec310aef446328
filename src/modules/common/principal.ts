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
