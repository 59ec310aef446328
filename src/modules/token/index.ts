export { AccessTokens, type IssuedAccessToken, looksLikeJwt } from './access-tokens.js';
export { Assertions } from './assertions.js';
export { loadOrCreateSecret } from './secret.js';
export { SigningKeys } from './signing-keys.js';
