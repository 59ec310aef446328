// Issue 18 point 1: one process per embedded DATA_DIR. A second process is refused at once with a
// message naming the directory and the owner's pid; after the owner is killed with SIGKILL the
// next start takes the stale lock over and finds the first process's data.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/db/data-dir-lock.js';
import { PASSWORD, signUpAndIn, uniqueEmail } from '../helpers/accounts.js';
import { rest } from '../helpers/clients.js';
import { type ChildServer, spawnServer, startChild } from './process.js';

const children: ChildServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const c of children) await c.kill();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'latchkey-lock-'));
  dirs.push(d);
  return d;
}

describe('DATA_DIR lock (embedded database)', () => {
  it('refuses a second process on the same DATA_DIR; the first keeps serving; after kill -9 a new start takes over', async () => {
    const dataDir = await tempDir();
    const first = await startChild({ DATA_DIR: dataDir });
    children.push(first);
    const email = uniqueEmail('lock');
    await signUpAndIn(first.url, 'Locked', email);

    const second = await spawnServer({ DATA_DIR: dataDir });
    if (second.server) children.push(second.server);
    expect(second.server).toBeUndefined();
    expect(second.exit!.code).not.toBe(0);
    expect(second.exit!.output).toContain(dataDir);
    expect(second.exit!.output).toContain(`pid ${first.pid}`);
    expect(second.exit!.output).not.toMatch(/\n\s+at /); // a message, not a stack trace

    // The first process is untouched: it still reads and writes.
    expect((await rest(first.url, 'GET', '/readyz')).status).toBe(200);
    const other = await signUpAndIn(first.url, 'Still', uniqueEmail('still'));
    expect(other.userId).toBeTruthy();

    await first.kill('SIGKILL');
    const lock = JSON.parse(await readFile(path.join(dataDir, 'latchkey.lock'), 'utf8'));
    expect(lock.pid).toBe(first.pid); // the dead process's lock is still there: stale

    const third = await startChild({ DATA_DIR: dataDir });
    children.push(third);
    const signIn = await rest(third.url, 'POST', '/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
    expect(signIn.status).toBe(200); // the first life's data survived and is served
    expect(JSON.parse(await readFile(path.join(dataDir, 'latchkey.lock'), 'utf8')).pid).toBe(third.pid);

    // A clean stop removes the lock.
    await third.kill('SIGTERM');
    await expect(readFile(path.join(dataDir, 'latchkey.lock'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 180_000);

  it('a lock left by a pid that no longer exists, or an unreadable one, is taken over; a live one is refused', async () => {
    const dataDir = await tempDir();
    const file = path.join(dataDir, 'latchkey.lock');
    // A pid far above pid_max on Linux (4194304) cannot be alive.
    await writeFile(file, JSON.stringify({ pid: 99_999_999, host: os.hostname() }));
    const a = lockDataDir(dataDir);
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(process.pid);
    a.release();
    await writeFile(file, 'garbage');
    const b = lockDataDir(dataDir);
    b.release();
    // A live process (our parent, the test runner's) holds it: refused, naming dir and pid.
    await writeFile(file, JSON.stringify({ pid: process.ppid, host: os.hostname() }));
    expect(() => lockDataDir(dataDir)).toThrow(new RegExp(`${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*pid ${process.ppid}`));
    expect(JSON.parse(await readFile(file, 'utf8')).pid).toBe(process.ppid); // untouched
  });

  it('a start with another SECRET than the one the database was set up with is refused in one sentence', async () => {
    const dataDir = await tempDir();
    const first = await startChild({ DATA_DIR: dataDir, SECRET: 'the-first-secret-0123456789-abcdefghij' });
    await first.kill('SIGTERM');
    const other = await spawnServer({ DATA_DIR: dataDir, SECRET: 'another-secret-0123456789-abcdefghijkl' });
    if (other.server) children.push(other.server);
    expect(other.server).toBeUndefined();
    expect(other.exit!.code).toBe(1);
    expect(other.exit!.output).toContain('latchkey: failed to start: Cannot decrypt the signing key: SECRET is not the one that created it');
    expect(other.exit!.output).not.toMatch(/\n\s+at /); // a message, not a stack trace
  }, 120_000);
});
