export { Mailer, type Email, type MailerOptions } from './mailer.js';
export * from './emails.js';
