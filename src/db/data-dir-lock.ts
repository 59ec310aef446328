// One process per DATA_DIR: a lock file holding the owner's pid, created atomically ('wx').
// A lock whose pid is gone (kill -9, power loss) is taken over; a live one refuses the start.
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class DataDirLockedError extends Error {}

export interface DataDirLock {
  file: string;
  /** Remove the lock (only if it is still ours). */
  release(): void;
}

interface Owner {
  pid: number;
  host: string;
}

function read(file: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' ? { pid: o.pid, host: String(o.host ?? '') } : { pid: 0, host: '' };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { pid: 0, host: '' }; // unreadable or half-written: no live owner can be named
  }
}

function alive(o: Owner): boolean {
  // Another host's pid cannot be checked from here: treat it as alive (shared volumes).
  if (o.host && o.host !== os.hostname()) return true;
  // Our own pid in the file is a previous life of ours (a container restarts as pid 1 again).
  if (o.pid <= 0 || o.pid === process.pid) return false;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function create(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
  closeSync(fd);
  return true;
}

const refusal = (dir: string, o: Owner) =>
  new DataDirLockedError(
    `data directory ${dir} is in use by another Latchkey process (pid ${o.pid}${o.host && o.host !== os.hostname() ? ` on ${o.host}` : ''}); ` +
      'stop it first, or give this one its own DATA_DIR (or DATABASE_URL)',
  );

/** Take the lock on `dir` or throw DataDirLockedError naming the directory and the owner's pid. */
export function lockDataDir(dir: string): DataDirLock {
  const file = path.join(dir, 'latchkey.lock');
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(file)) {
      return {
        file,
        release() {
          if (read(file)?.pid === process.pid) unlinkSync(file);
        },
      };
    }
    const owner = read(file);
    if (!owner) continue; // released between our create and read: try again
    if (alive(owner)) throw refusal(dir, owner);
    // Stale. Move it aside atomically (one of several racing starters wins the rename), then make
    // sure what we moved was the stale lock and not one a racing starter had just created.
    const aside = `${file}.stale-${process.pid}-${Date.now()}`;
    try {
      renameSync(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = read(aside);
    if (moved && moved.pid !== owner.pid && alive(moved)) {
      try {
        renameSync(aside, file);
      } catch {
        /* nothing better to do: the racing owner keeps running, we refuse below */
      }
      throw refusal(dir, moved);
    }
    try {
      unlinkSync(aside);
    } catch {
      /* already gone */
    }
  }
  throw new DataDirLockedError(`could not lock data directory ${dir}: other processes keep taking it`);
}
