// `npm start` runs the compiled server (dist/), so the README's one command still sets everything
// up: it compiles the server when dist/ is missing or older than its sources, and builds the
// console when console/dist is missing. Without the build tools (a production install that
// copied dist/), it starts what is there.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (p) => join(root, p);

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
  return t;
}

function npmRun(script) {
  const r = spawnSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// build:server writes dist/.built when tsc succeeds (tsc itself rewrites only changed outputs).
const stamp = at('dist/.built');
const built = existsSync(stamp) && existsSync(at('dist/src/main.js')) ? statSync(stamp).mtimeMs : 0;
const sources = Math.max(newest(at('src')), newest(at('gen')), newest(at('tsconfig.json')), newest(at('tsconfig.build.json')));
if (!built || built < sources) {
  if (existsSync(at('node_modules/typescript/package.json'))) npmRun('build:server');
  else if (!built) {
    console.error('dist/ is missing and typescript is not installed: run npm ci && npm run build');
    process.exit(1);
  }
}

if (!existsSync(at('console/dist/index.html'))) {
  if (existsSync(at('node_modules/vite/package.json'))) npmRun('build:console');
  else console.warn('console/dist is missing and vite is not installed: starting without the console (run npm ci && npm run build)');
}
