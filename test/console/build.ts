// vitest globalSetup: the browser tests need console/dist; build it when missing or older than
// the console's sources (a stale build would test yesterday's console).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const index = join(root, 'console/dist/index.html');
  const sources = Math.max(newest(join(root, 'console/src')), statSync(join(root, 'console/index.html')).mtimeMs, statSync(join(root, 'console/vite.config.ts')).mtimeMs, newest(join(root, 'gen')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  // vitest sets NODE_ENV=test, which would make Vite ship React's development build.
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0) throw new Error('npm run build failed: the console tests need console/dist');
}
