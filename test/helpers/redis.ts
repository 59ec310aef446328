// Redis for tests. Tests that need Redis run only when TEST_REDIS_URL is set (CI sets it; a bare
// machine skips them). `startRedisServer` runs a private redis-server child on a free port, so a
// test can stop and restart Redis under a running Latchkey without touching the shared one.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export const testRedisUrl = process.env.TEST_REDIS_URL;

/** A REDIS_KEY_PREFIX no other test file uses. */
export const uniquePrefix = (tag = 'test') => `latchkey-${tag}-${randomBytes(5).toString('hex')}:`;

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RedisChild {
  url: string;
  port: number;
  /** SIGKILL: the connections drop as they would when Redis crashes. */
  kill(): Promise<void>;
  /** Start again on the same port (empty: `--save ''`). */
  start(): Promise<void>;
}

export async function startRedisServer(bin = process.env.TEST_REDIS_SERVER ?? 'redis-server'): Promise<RedisChild> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  async function start(): Promise<void> {
    const c = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/i.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${out}`));
      });
    });
  }
  async function kill(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGKILL');
    });
  }
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start };
}

/** Poll `check` every 10 ms until it holds; the milliseconds it took, or -1 after `limitMs`. */
export async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 10));
  }
  return -1;
}
