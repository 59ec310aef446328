export { AccessTokens, AUDIENCE, looksLikeJwt, type AccessTokenClaims, type IssuedAccessToken, type VerifiedAccessToken } from './access-tokens.js';
export { SigningKeys, type PublicJwk } from './signing-keys.js';
export { deriveKey, loadOrCreateSecret } from './secret.js';
export { Assertions, ASSERTION_TYP, MAX_ASSERTION_TTL_SECONDS, type AssertionClaims } from './assertions.js';
