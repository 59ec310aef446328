// A real Latchkey server as a child process (`node --import tsx src/main.ts`), so a test can
// SIGKILL it the way an operator's kill -9 or the OOM killer would.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildServer {
  url: string;
  pid: number;
  proc: ChildProcess;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnResult {
  /** Set when the process came up and listens. */
  server?: ChildServer;
  /** Set when it exited before listening. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; output: string; ms: number };
}

function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SCRYPT_LOG_N: '10',
    SCRYPT_P: '1',
    AUTH_IP_LIMIT: '1000000',
    AUTH_EMAIL_LIMIT: '1000000',
    SECRET: 'latchkey-test-secret-0123456789-abcdefghij',
    ...extra,
  };
}

/** Start a server process; resolves when it listens or exits (whichever comes first). */
export function spawnServer(env: Record<string, string>, timeoutMs = 60_000): Promise<SpawnResult> {
  const started = Date.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: serverEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += String(chunk);
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*latchkey listening/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      proc.stdout!.on('data', (c: Buffer) => (out += String(c)));
      resolve({
        server: {
          url: m[1],
          pid: proc.pid!,
          proc,
          output: () => out,
          exited,
          async kill(signal = 'SIGKILL') {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            await exited;
          },
        },
      });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => (out += String(c)));
    void exited.then((e) => {
      clearTimeout(timer);
      resolve({ exit: { ...e, output: out, ms: Date.now() - started } });
    });
  });
}

/** Start a server that must come up. */
export async function startChild(env: Record<string, string>): Promise<ChildServer> {
  const r = await spawnServer(env);
  if (!r.server) throw new Error(`server exited (${r.exit!.code}):\n${r.exit!.output}`);
  return r.server;
}
