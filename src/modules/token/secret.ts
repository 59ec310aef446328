// The master secret (SECRET): from config, or generated once into DATA_DIR so a fresh `npm start`
// works. Purpose keys are derived from it (common/sealing.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export async function loadOrCreateSecret(configured: string | undefined, dataDir: string, log: Logger): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 32) {
      log.warn({ file }, 'SECRET is not set: using the secret generated in DATA_DIR (set SECRET for production and for several replicas)');
      return existing;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // wx: never overwrite a secret another process just wrote; 0600: only this user may read it.
  try {
    await writeFile(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw e;
  }
  log.warn({ file }, 'SECRET is not set: generated a new one into DATA_DIR (set SECRET for production and for several replicas)');
  return secret;
}
