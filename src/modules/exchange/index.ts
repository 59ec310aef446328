// Tokens for services: API key → JWT exchange (SignInWithApiKey) and token introspection.
export { TokenExchange } from './exchange.js';
export { TokenIntrospection } from './introspection.js';
export { OrgRefs } from './org-refs.js';
