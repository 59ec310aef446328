// The compiled build (dist/) the ops tests run: compiled when missing or older than src/ and gen/,
// as `npm start`'s prestart does.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const root = path.resolve(import.meta.dirname, '../..');
const newest = (p: string): number => (!existsSync(p) ? 0 : statSync(p).isDirectory() ? Math.max(0, ...readdirSync(p).map((e) => newest(path.join(p, e)))) : statSync(p).mtimeMs);

export async function ensureBuilt(): Promise<void> {
  const stamp = path.join(root, 'dist/.built');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'gen')))) return;
  await promisify(execFile)('npm', ['run', '--silent', 'build:server'], { cwd: root, timeout: 240_000 });
}
