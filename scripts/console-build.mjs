// `npm start` builds the console when console/dist is missing, so the README's one command still
// sets everything up. Without the build tools (a production install), the API starts alone.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const dist = new URL('../console/dist/index.html', import.meta.url);
if (!existsSync(dist)) {
  if (!existsSync(new URL('../node_modules/vite/package.json', import.meta.url))) {
    console.warn('console/dist is missing and vite is not installed: starting without the console (run npm ci && npm run build)');
  } else {
    const r = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
