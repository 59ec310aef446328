// What a token issued from a key may do: the key's scopes, with Latchkey's own scopes capped by the
// roles of both the key's creator and the user the token acts for. Downstream scopes pass through.
import { isLatchkeyScope } from '../apikey/verifier.js';
import { expandScopes, scopesOfRole, type Role } from '../org/roles.js';

export function narrowScopes(keyScopes: readonly string[], ...roles: Role[]): string[] {
  const caps = roles.map(scopesOfRole);
  return expandScopes(keyScopes).filter((s) => !isLatchkeyScope(s) || caps.every((c) => c.has(s)));
}
