// Outgoing email. SMTP_URL set: delivered over SMTP by nodemailer. Unset: logged (recipient and
// subject; the one-time link or code only when `logBodies` asks) so a fresh `npm start` works. Delivery runs in the background with a few retries:
// a slow or broken mail server never fails or slows the request that caused the email.
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';

export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The one-time link (or code) inside, for the log transport only. */
  link?: string;
  code?: string;
}

export interface MailerOptions {
  smtpUrl?: string;
  from: string;
  log: Logger;
  /** Without SMTP: also log the link/code inside (a live one-time token). Off unless asked for. */
  logBodies?: boolean;
  /** Waits before each retry; the default gives up about a minute after the first failure. */
  retryDelaysMs?: number[];
}

export class Mailer {
  private readonly transport?: Transporter;
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly opts: MailerOptions) {
    if (opts.smtpUrl) {
      this.transport = nodemailer.createTransport({ url: opts.smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    } else {
      // A production deployment that forgot SMTP_URL delivers nothing: say so once, at start.
      opts.log.warn(
        { logBodies: !!opts.logBodies },
        opts.logBodies
          ? 'SMTP_URL is not set: emails are not delivered; their one-time links and codes are written to this log (development only)'
          : 'SMTP_URL is not set: emails are not delivered, only logged without their links (MAIL_LOG_BODIES=true or LOG_LEVEL=debug logs the links, for development)',
      );
    }
  }

  /** Queue an email for delivery; returns at once and never throws. */
  send(email: Email): void {
    if (!this.transport) {
      // The link carries a live one-time token: logged only when asked for (development).
      const body = this.opts.logBodies ? { link: email.link, code: email.code } : {};
      this.opts.log.info({ to: email.to, subject: email.subject, ...body }, `email to ${email.to}: ${email.subject}${this.opts.logBodies ? '' : ' (not delivered: SMTP_URL unset)'}`);
      return;
    }
    this.attempt(email, 0);
  }

  private attempt(email: Email, tries: number): void {
    const delays = this.opts.retryDelaysMs ?? [1_000, 5_000, 30_000];
    const p = this.transport!.sendMail({ from: this.opts.from, to: email.to, subject: email.subject, text: email.text, html: email.html }).then(
      () => undefined,
      (err: Error) => {
        const retry = !this.closed && tries < delays.length;
        this.opts.log.warn({ to: email.to, subject: email.subject, err: err.message, attempt: tries + 1, willRetry: retry }, 'email delivery failed');
        if (!retry) return;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.attempt(email, tries + 1);
        }, delays[tries]);
        timer.unref();
        this.timers.add(timer);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves once every delivery already started has been accepted or refused by the SMTP server. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Let in-flight deliveries finish, drop scheduled retries, close the SMTP connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.timers.forEach(clearTimeout);
    this.timers.clear();
    await Promise.allSettled([...this.pending]);
    this.transport?.close();
  }
}
