export * from './emails.js';
export { type Email, Mailer } from './mailer.js';
