// What the org module needs from email delivery; deps wires it to the mail module.
export interface InvitationMail {
  to: string;
  /** One-time acceptance link (carries the token). */
  link: string;
  organizationName: string;
  inviterName: string;
}

export interface InvitationMailer {
  /** Queue the email; delivery problems are the mailer's to log and retry. */
  sendInvitation(mail: InvitationMail): void | Promise<void>;
}
