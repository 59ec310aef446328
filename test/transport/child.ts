// The server as its own process (npm start's entry point), so its RSS and event loop are its own
// and the load generator in the test process does not disturb the figures.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface ChildServer {
  url: string;
  port: number;
  pid: number;
  /** Resident set size of the server process, in bytes. */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

export async function spawnServer(env: Record<string, string> = {}): Promise<ChildServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-child-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      SCRYPT_LOG_N: '10',
      SCRYPT_P: '1',
      AUTH_IP_LIMIT: '1000000',
      AUTH_EMAIL_LIMIT: '1000000',
      SECRET: 'latchkey-test-secret-0123456789-abcdefghij',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 110_000);
    const onData = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
      const m = /latchkey listening on (http:\/\/[\d.:]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  // Keep the tail of the output for a failure message; never let a full pipe block the child.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`server process exited (${code ?? signal}):\n${output.slice(-4000)}`);
  });
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    async rss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      if (!kb) throw new Error(`server process ${child.pid} is gone`);
      return Number(kb) * 1024;
    },
    async stop() {
      stopping = true;
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(forced);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Run `probe` every `everyMs` until `until` resolves; the latencies in ms. */
export async function probeWhile(probe: () => Promise<unknown>, until: Promise<unknown>, everyMs = 25): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const t = performance.now();
    await probe();
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return latencies;
}

export const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];
