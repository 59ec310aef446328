// A real SMTP listener in the test process: Latchkey delivers to it over SMTP (SMTP_URL), tests
// wait for the next email to an address and take the link's `token` or the 6-digit code from it.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export interface SmtpSink {
  /** SMTP_URL for the server under test. */
  url: string;
  port: number;
  messages: ReceivedMail[];
  /** The next email to `to` not yet returned by nextMail (waits for it). */
  nextMail(to: string, timeoutMs?: number): Promise<ReceivedMail>;
  /** Emails to `to` not yet returned by nextMail. */
  unread(to: string): ReceivedMail[];
  stop(): Promise<void>;
}

function unfoldHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return headers;
}

function decodeBody(body: string, encoding: string): string {
  if (/base64/i.test(encoding)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(encoding)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** Text and HTML bodies of a MIME entity (multipart walked recursively). */
function parts(entity: string): { text: string; html: string } {
  const split = entity.search(/\r?\n\r?\n/);
  const headers = unfoldHeaders(split < 0 ? entity : entity.slice(0, split));
  const body = split < 0 ? '' : entity.slice(split).replace(/^\r?\n\r?\n/, '');
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const out = { text: '', html: '' };
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      const p = parts(chunk.replace(/^\r?\n/, ''));
      out.text ||= p.text;
      out.html ||= p.html;
    }
    return out;
  }
  const decoded = decodeBody(body, headers.get('content-transfer-encoding') ?? '');
  return /text\/html/i.test(type) ? { text: '', html: decoded } : { text: decoded, html: '' };
}

function parse(raw: string, envelopeTo: string[]): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = unfoldHeaders(raw.slice(0, split));
  return { from: headers.get('from') ?? '', to: envelopeTo, subject: headers.get('subject') ?? '', ...parts(raw), raw };
}

/** Listen on `port` (default: any free port). */
export async function startSmtp(port = 0): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const returned = new Set<ReceivedMail>();
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(
          parse(
            Buffer.concat(chunks).toString('utf8'),
            session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          ),
        );
        waiters.splice(0).forEach((w) => w());
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  port = (server.server.address() as AddressInfo).port;
  const unread = (to: string) => messages.filter((m) => !returned.has(m) && m.to.includes(to.toLowerCase()));

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    unread,
    async nextMail(to, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = unread(to)[0];
        if (m) {
          returned.add(m);
          return m;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no email to ${to} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The link in an email (the first URL carrying a `token` parameter). */
export function linkOf(mail: ReceivedMail): string {
  const m = /https?:\/\/[^\s"<>]+[?&]token=[\w-]+/.exec(mail.text);
  if (!m) throw new Error(`no link in email "${mail.subject}":\n${mail.text}`);
  return m[0];
}

/** The `token` query parameter of the email's link. */
export const tokenOf = (mail: ReceivedMail): string => new URL(linkOf(mail)).searchParams.get('token')!;

/** The 6-digit code of the email. */
export function codeOf(mail: ReceivedMail): string {
  const m = /code:\s*(\d{6})\b/i.exec(mail.text);
  if (!m) throw new Error(`no code in email "${mail.subject}":\n${mail.text}`);
  return m[1];
}
