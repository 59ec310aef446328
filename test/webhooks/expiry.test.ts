// API-key expiry notices with the server's clock advanced: 7 days and 1 day before, exactly one
// email to each of the creator and the organization's admins and one `api_key.expiring` event;
// `api_key.expired` once when it lapses. On PostgreSQL three replicas run the check at once (on
// PGlite, one process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn, type TestUser } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { onRealPostgres, startServer, type TestServer } from '../helpers/server.js';
import { type SmtpSink, startSmtp, tokenOf } from '../helpers/smtp.js';
import { ofType, type Receiver, startReceiver } from './receiver.js';

const DAY = 24 * 3600;
let smtp: SmtpSink;
let r: Receiver;
let replicas: TestServer[] = [];
let owner: TestUser;
let admin: TestUser;

const advanceAll = (seconds: number) => replicas.forEach((s) => s.clock.advance(seconds));
/** Every replica checks at once, three times over; how many notices they gave. */
const checkEverywhere = async () => {
  let given = 0;
  for (let i = 0; i < 3; i++) given += (await Promise.all(replicas.map((s) => s.deps.expiryNotices.check()))).reduce((x, y) => x + y, 0);
  return given;
};
const expiryMails = (to: string) => smtp.unread(to).filter((m) => /expires in/.test(m.subject));

beforeAll(async () => {
  smtp = await startSmtp();
  r = await startReceiver();
  const env = { SMTP_URL: smtp.url, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_WORKER_INTERVAL_MS: '20', API_KEY_EXPIRY_CHECK_INTERVAL_MS: '20' };
  const first = await startServer({ env });
  replicas = [first];
  if (onRealPostgres) replicas.push(...(await Promise.all([1, 2].map(() => startServer({ env, databaseUrl: first.databaseUrl })))));
  const url = first.url;
  owner = await signUpAndIn(url, 'Key Owner');
  admin = await signUpAndIn(url, 'Second Admin');
  const ep = await rest(url, 'POST', `/api/organizations/${owner.organizationId}/webhooks`, {
    headers: { cookie: owner.cookie },
    body: { url: r.url, eventTypes: ['api_key.expiring', 'api_key.expired', 'member.added'] },
  });
  r.secrets = [ep.body.data.secret];
  const inv = await rest(url, 'POST', `/api/user/organizations/${owner.organizationId}/invitations`, { headers: { cookie: owner.cookie }, body: { email: admin.email, role: 'admin' } });
  let mail;
  do mail = await smtp.nextMail(admin.email);
  while (!/invited/i.test(mail.subject));
  expect((await rest(url, 'POST', `/api/user/invitations/${inv.body.data.invitation.id}/accept`, { headers: { cookie: admin.cookie }, body: { token: tokenOf(mail) } })).status).toBe(200);
});
afterAll(async () => {
  for (const s of replicas.slice().reverse()) await s.stop();
  await smtp?.stop();
  await r?.stop();
});

describe(`API-key expiry notices (${onRealPostgres ? 'three replicas' : 'one process'})`, () => {
  it('(the second admin joined: member.added was sent)', async () => {
    const [added] = await r.waitFor((all) => ofType(all, 'member.added').length === 1);
    expect(added.event.data).toMatchObject({
      organizationId: owner.organizationId,
      actor: { type: 'user', id: admin.userId },
      target: { type: 'user', id: admin.userId },
      details: { role: 'admin', via: 'invitation' },
    });
  });

  it('warn 7 days and 1 day before, and announce the expiry, each exactly once', async () => {
    const url = replicas[replicas.length - 1].url;
    const created = await rest(url, 'POST', '/api/auth/api-key/create', { headers: { cookie: owner.cookie, orgid: owner.organizationId }, body: { name: 'expiring key', expiresIn: 10 * DAY } });
    expect(created.status).toBe(200);
    const keyId = created.body.data.id as string;
    const ofKey = (type: string, within?: string) => ofType(r.received, type, (d) => d.event.data.target.id === keyId && (!within || d.event.data.details.within === within));
    expect(await checkEverywhere()).toBe(0); // 10 days out: nothing yet

    for (const [advance, label] of [
      [3.5 * DAY, '7 days'],
      [6 * DAY, '1 day'],
    ] as const) {
      advanceAll(advance);
      for (const to of [owner.email, admin.email]) {
        let m = await smtp.nextMail(to);
        while (!/expires in/.test(m.subject)) m = await smtp.nextMail(to); // sign-up's verification email
        expect(m.subject).toBe(`An API key expires in ${label}: expiring key`);
        expect(m.text).toContain(created.body.data.start);
      }
      await r.waitFor(() => ofKey('api_key.expiring', label).length === 1);
      expect(await checkEverywhere()).toBe(0); // already given, by whichever replica came first
      await r.waitFor(() => ofKey('api_key.expiring', label).length === 1);
      expect(expiryMails(owner.email)).toEqual([]);
      expect(expiryMails(admin.email)).toEqual([]);
    }

    advanceAll(1 * DAY); // 10.5 days after creation: lapsed
    await r.waitFor(() => ofKey('api_key.expired').length === 1);
    expect(await checkEverywhere()).toBe(0);
    const events = r.received.filter((d) => d.event.data.target.id === keyId && d.event.type.startsWith('api_key.'));
    expect(events.map((d) => [d.event.type, d.event.data.details.within])).toEqual([
      ['api_key.expiring', '7 days'],
      ['api_key.expiring', '1 day'],
      ['api_key.expired', undefined],
    ]);
    expect(events.every((d) => d.verifiedWith.length === 1)).toBe(true);
    expect(new Set(events.map((d) => d.id)).size).toBe(3);
    // No email for the lapse itself, and none twice.
    expect(expiryMails(owner.email)).toEqual([]);
    expect(expiryMails(admin.email)).toEqual([]);
  });
});
