#!/usr/bin/env node
// `latchkey` operator CLI: the compiled server code in dist/ (npm run build) when it is there and
// not older than the sources, otherwise the TypeScript sources through tsx. Either way the same
// code as the server.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  // The server's dependencies need 22.19+ (undici 8, oidc-provider): a sentence, not their TypeError.
  console.error(`latchkey: needs Node.js 22.19 or newer; this is ${process.versions.node}. Run it through npx in the project (the Node 24 that npm ci installs).`);
  process.exit(1);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const newest = (p) => (!existsSync(p) ? 0 : statSync(p).isDirectory() ? Math.max(0, ...readdirSync(p).map((e) => newest(join(p, e)))) : statSync(p).mtimeMs);
const stamp = join(root, 'dist/.built'); // written by npm run build when tsc succeeds

if (existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(newest(join(root, 'src')), newest(join(root, 'gen')))) {
  process.setSourceMapsEnabled(true);
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
