// Tokens for services: API key → JWT exchange (SignInWithApiKey) and token introspection.
export { TokenExchange, type ExchangeRequest } from './exchange.js';
export { TokenIntrospection, type Introspection, type TokenType } from './introspection.js';
export { OrgRefs } from './org-refs.js';
