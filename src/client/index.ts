// Latchkey's client for internal services: verify a request's credential (see README, "Internal services").
export { createLatchkeyVerifier, LatchkeyAuthError, type LatchkeyVerifier, type LatchkeyVerifierOptions, type VerifiedPrincipal } from './verifier.js';
