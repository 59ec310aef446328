// The verifier SDK as a user installs it: the package is packed (npm pack, its `files`), unpacked
// into a temporary project's node_modules (its dependencies linked from ours), and the README's
// `service.mjs` block runs with the system Node 20 — no tsx, no TypeScript loader — against a real
// server: `import … from 'latchkey/client'` resolves through package.json `exports`, and the
// declarations type-check a TypeScript consumer.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenOf, cookie, createKey, newUser, startWorld, type World } from '../apikey/fixtures.js';
import { ensureBuilt, root } from './dist.js';

const run = promisify(execFile);
const SYSTEM_NODE = '/usr/bin/node';
const systemMajor = existsSync(SYSTEM_NODE) ? Number(execFileSync(SYSTEM_NODE, ['-p', 'process.versions.node']).toString().split('.')[0]) : 0;

let w: World;
let tmp: string;
let service: ChildProcess | undefined;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  await ensureBuilt(); // the package ships dist/
  tmp = await mkdtemp(path.join(os.tmpdir(), 'latchkey-client-pkg-'));
  const packed = (await run('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: root, timeout: 120_000 })).stdout.trim().split('\n').pop()!;
  const pkgDir = path.join(tmp, 'node_modules/latchkey');
  await mkdir(pkgDir, { recursive: true });
  await run('tar', ['xzf', path.join(tmp, packed), '-C', pkgDir, '--strip-components=1']);
  for (const dep of readdirSync(path.join(root, 'node_modules'))) {
    if (dep.startsWith('.') || dep === 'latchkey') continue;
    await symlink(path.join(root, 'node_modules', dep), path.join(tmp, 'node_modules', dep));
  }
  w = await startWorld();
}, 240_000);

afterAll(async () => {
  service?.kill();
  await w?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the latchkey/client package', () => {
  it('contains compiled JavaScript, declarations and source maps, and no TypeScript sources', async () => {
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: path.join(tmp, 'node_modules/latchkey') })
      .toString()
      .split('\n');
    expect(files).toContain('./dist/src/client/index.js');
    expect(files).toContain('./dist/src/client/index.d.ts');
    expect(files).toContain('./dist/src/client/verifier.js.map');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it.skipIf(!systemMajor)(
    `runs the README's service.mjs with the system Node (${SYSTEM_NODE}, v${systemMajor})`,
    async () => {
      expect(systemMajor).toBeGreaterThanOrEqual(20);
      expect(systemMajor).toBeLessThan(24); // not the project's bundled Node 24
      const readme = await readFile(path.join(root, 'README.md'), 'utf8');
      const block = /```js\n(import http from 'node:http';\nimport \{ createLatchkeyVerifier[\s\S]*?)```/.exec(readme)?.[1];
      expect(block, 'README has the service.mjs block').toBeTruthy();
      await writeFile(path.join(tmp, 'service.mjs'), block!);

      const owner = await newUser(w, 'Svc Owner');
      const h = cookie(owner, { orgid: owner.organizationId });
      const serviceKey = await createKey(w, h, { scopes: ['introspect'] });
      const writer = await createKey(w, h, { scopes: ['projects:write'] });
      const reader = await createKey(w, h, { scopes: ['projects:read'] });
      const jwt = await accessTokenOf(w, owner);

      const port = await freePort();
      service = spawn(SYSTEM_NODE, ['service.mjs'], {
        cwd: tmp,
        env: { PATH: process.env.PATH, PORT: String(port), LATCHKEY_URL: w.url, LATCHKEY_SERVICE_KEY: serviceKey.key },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      service.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => service!.once('exit', r));
      const base = `http://127.0.0.1:${port}`;
      // Ready when it accepts a connection (or fail with its stderr if it exits first).
      const get = (auth?: string) => fetch(base, { headers: auth ? { authorization: auth } : {} });
      for (;;) {
        const up = await Promise.race([
          get().then(
            () => true,
            () => false,
          ),
          exited.then(() => 'exited' as const),
        ]);
        if (up === 'exited') throw new Error(`service.mjs exited: ${stderr}`);
        if (up) break;
        await new Promise((r) => setTimeout(r, 50));
      }

      const ok = await get(`Bearer ${writer.key}`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ userId: owner.userId, kind: 'apiKey' });
      expect((await get(`Bearer ${reader.key}`)).status).toBe(403);
      const none = await get();
      expect(none.status).toBe(401);
      expect(await none.text()).toMatch(/missing/i);
      const signedIn = await get(`Bearer ${jwt}`);
      expect(await signedIn.json()).toEqual({ userId: owner.userId, kind: 'jwt' });
      expect(stderr).toBe('');
    },
    60_000,
  );

  const systemVersion = systemMajor ? execFileSync(SYSTEM_NODE, ['-p', 'process.versions.node']).toString().trim() : '';
  const tooOld = /^(2[01]|22\.(1[0-8]|[0-9]))\./.test(systemVersion);
  it.skipIf(!tooOld)(`the packaged server and CLI refuse the system Node (v${systemVersion}) with a sentence`, async () => {
    const pkg = path.join(tmp, 'node_modules/latchkey');
    for (const entry of ['dist/src/main.js', 'bin/latchkey.js']) {
      const r = await run(SYSTEM_NODE, [entry, ...(entry.startsWith('bin') ? ['doctor'] : [])], { cwd: pkg }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^latchkey: .*needs Node\\.js 22\\.19 or newer; this is ${systemVersion.replaceAll('.', '\\.')}\\.`));
      expect(r.stderr).not.toMatch(/TypeError|\n {4}at /);
    }
  });

  it('its declarations type-check a TypeScript consumer (moduleResolution NodeNext)', async () => {
    await writeFile(
      path.join(tmp, 'consumer.ts'),
      [
        "import { createLatchkeyVerifier, LatchkeyAuthError, type VerifiedPrincipal } from 'latchkey/client';",
        "const v = createLatchkeyVerifier({ baseUrl: 'http://127.0.0.1:8080', credential: 'lk_x' });",
        "export const who: Promise<VerifiedPrincipal> = v.verify('Bearer x');",
        'export const status: number = new LatchkeyAuthError("m", "MISSING").status;',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(tmp, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(
      path.join(tmp, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const r = await run(process.execPath, [tsc, '-p', tmp], { cwd: tmp }).catch((e) => e);
    expect(`${r.stdout ?? ''}${r.stderr ?? ''}`).toBe('');
  }, 60_000);
});
