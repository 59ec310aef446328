// `latchkey doctor`: each check prints ok or what is wrong, and the count of problems is returned.
import net from 'node:net';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/orm.js';
import { createLogger } from '../log.js';

type Env = Record<string, string | undefined>;

/** Opens a TCP connection and reads the server's first line (Redis answers PING with +PONG). */
function probe(url: string, send: string | undefined, expect: RegExp, timeoutMs = 3000): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'redis:' ? 6379 : u.protocol === 'smtps:' ? 465 : 25);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port });
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no answer from ${u.hostname}:${port} within ${timeoutMs} ms`))), timeoutMs);
    let buf = '';
    s.once('connect', () => send && s.write(send));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        clearTimeout(timer);
        s.end();
        if (expect.test(buf)) resolve();
        else reject(new Error(`unexpected answer from ${u.hostname}:${port}: ${buf.split('\n')[0].trim()}`));
      }
    });
    s.once('error', (e) => (clearTimeout(timer), reject(new Error(`cannot connect to ${u.hostname}:${port}: ${e.message}`))));
  });
}

export async function doctor(env: Env, print: (line: string) => void = console.log): Promise<number> {
  let problems = 0;
  const report = async (name: string, check: () => Promise<string | void>) => {
    try {
      const note = await check();
      print(`ok    ${name}${note ? `: ${note}` : ''}`);
    } catch (e) {
      problems++;
      print(`FAIL  ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  let config: Config | undefined;
  await report('configuration', async () => {
    try {
      config = loadConfig({ ...env, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'false' });
    } catch (e) {
      throw e instanceof ConfigError ? new Error(e.message) : e;
    }
  });
  if (!config) return problems;
  const c = config;
  await report(c.databaseUrl ? 'database (PostgreSQL)' : `database (embedded, ${c.dataDir})`, async () => {
    const db = await openDatabase(c, createLogger('silent'));
    try {
      await db.orm.em.fork().getConnection().execute('select 1');
      const pending = await db.orm.migrator.getPending();
      if (pending.length) throw new Error(`${pending.length} migration(s) pending: run \`latchkey migrate up\``);
    } finally {
      await db.close();
    }
  });
  if (c.redisUrl) await report('Redis', () => probe(c.redisUrl!, 'PING\r\n', /^\+PONG|^-NOAUTH/));
  else print('skip  Redis: REDIS_URL not set (limits are per process)');
  if (c.smtpUrl) await report('SMTP', () => probe(c.smtpUrl!, undefined, /^220/));
  else print('skip  SMTP: SMTP_URL not set (emails are logged, not sent)');
  print(problems ? `${problems} problem(s) found` : 'no problems found');
  return problems;
}
