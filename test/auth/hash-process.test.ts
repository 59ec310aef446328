// Passwords are hashed in a separate process at a lower CPU priority (SCRYPT_PROCESS, default on):
// sign-up and sign-in work through it, it runs at nice 10, and it ends with the server.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, signUpAndIn } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Our child processes running the hashing worker, with their nice values (from /proc). */
function hashWorkers(): { pid: number; nice: number }[] {
  const found: { pid: number; nice: number }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue; // ppid
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('hash-worker')) continue;
      found.push({ pid: Number(d), nice: Number(fields[16]) });
    } catch {
      /* the process went away */
    }
  }
  return found;
}

let s: TestServer;
let stopped = false;
beforeAll(async () => {
  s = await startServer({ env: { SCRYPT_PROCESS: 'true' } });
});
afterAll(async () => {
  if (!stopped) await s?.stop();
});

describe('password hashing process', () => {
  it('signs users up and in through a child process at nice 10; a wrong password is still refused', async () => {
    const u = await signUpAndIn(s.url);
    const workers = hashWorkers();
    expect(workers).toHaveLength(1);
    expect(workers[0].nice).toBe(10);
    const wrong = await rest(s.url, 'POST', '/api/auth/sign-in/email', { body: { email: u.email, password: `${PASSWORD}-not` } });
    expect(wrong.status).toBe(401);
  });

  it('ends with the server', async () => {
    const [worker] = hashWorkers();
    await s.stop();
    stopped = true;
    for (let i = 0; i < 100 && hashWorkers().some((w) => w.pid === worker.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(hashWorkers().map((w) => w.pid)).not.toContain(worker.pid);
  });
});
