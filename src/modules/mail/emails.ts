// The emails Latchkey sends, in plain text and HTML. Every link is a console page under PUBLIC_URL
// and carries its one-time token in the `token` query parameter.
import type { Email } from './mailer.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The console pages the emailed links open, under PUBLIC_URL: each page shows what happened and
 * calls the RPC itself (the REST routes behind them stay for curl).
 */
export const CONSOLE_PATHS = {
  verifyEmail: '/verify-email',
  /** GET is the console page; POST on the same path is RedeemMagicLink's REST binding. */
  magicLink: '/magic-link/redirect',
  resetPassword: '/reset-password',
  invitation: (id: string) => `/invitations/${encodeURIComponent(id)}`,
} as const;

export function linkWithToken(publicUrl: string, path: string, token: string): string {
  const u = new URL(path, publicUrl + '/');
  u.searchParams.set('token', token);
  return u.toString();
}

function compose(to: string, subject: string, lines: string[], action?: { label: string; link: string }, code?: string): Email {
  const text = [...lines, ...(code ? ['', `Your code: ${code}`] : []), ...(action ? ['', `${action.label}: ${action.link}`] : [])].join('\n');
  const html = [
    ...lines.map((l) => `<p>${escape(l)}</p>`),
    ...(code ? [`<p style="font-size:24px;letter-spacing:4px"><strong>${code}</strong></p>`] : []),
    ...(action ? [`<p><a href="${escape(action.link)}">${escape(action.label)}</a></p>`] : []),
  ].join('\n');
  return { to, subject, text, html: `<!doctype html><html><body>${html}</body></html>`, link: action?.link, code };
}

export const verificationEmail = (to: string, link: string): Email =>
  compose(to, 'Verify your email address', ['Confirm that this address is yours to finish setting up your account.', 'The link works once and expires in 24 hours.'], { label: 'Verify email', link });

export const magicLinkEmail = (to: string, link: string): Email =>
  compose(to, 'Your sign-in link', ['Use this link to sign in. It works once and expires in 15 minutes.', 'If you did not ask for it, ignore this email.'], { label: 'Sign in', link });

export const magicCodeEmail = (to: string, code: string): Email =>
  compose(to, 'Your sign-in code', ['Enter this code to sign in. It expires in 10 minutes.', 'If you did not ask for it, ignore this email.'], undefined, code);

/** For an address with no account: the link (and code, when one was asked for) creates it. */
export const signUpLinkEmail = (to: string, link: string, code?: string): Email =>
  compose(
    to,
    'Finish creating your account',
    [
      'Someone (hopefully you) asked to sign in with this address, which has no account yet.',
      'Use the link to create your account and sign in. It works once and expires in 15 minutes.',
      'If you did not ask for it, ignore this email.',
    ],
    { label: 'Create account and sign in', link },
    code,
  );

export const passwordResetEmail = (to: string, link: string): Email =>
  compose(
    to,
    'Reset your password',
    [
      'Use this link to choose a new password. It works once and expires in 1 hour.',
      'Every session of your account will be signed out.',
      'If you did not ask for it, ignore this email: your password stays as it is.',
    ],
    { label: 'Reset password', link },
  );

export const invitationEmail = (to: string, link: string, organizationName: string, inviterName: string): Email =>
  compose(to, `You are invited to join ${organizationName}`, [`${inviterName || 'A member'} invited you to join ${organizationName}.`], { label: 'Accept invitation', link });
