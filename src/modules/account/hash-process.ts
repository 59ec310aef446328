// The parent's side of the hashing process (hash-worker.ts): started on first use, answers matched
// by id; if the process dies, waiting calls fail and the next call starts a new one.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HashAnswer, HashJob } from './hash-worker.js';

type Pending = { resolve(v: string | boolean): void; reject(e: Error): void };
type JobInput = HashJob extends infer J ? (J extends HashJob ? Omit<J, 'id'> : never) : never;

// Run from source (tsx) the worker is the .ts file beside this one; compiled, the .js file.
const WORKER = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url));

export class HashProcess {
  private child?: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  constructor(
    /** scrypt computations at once (the process's libuv pool size). */
    private readonly threads: number,
    private readonly nice = 10,
  ) {}

  run(job: JobInput): Promise<string | boolean> {
    const child = this.child ?? this.start();
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ ...job, id } as HashJob);
    });
  }

  private start(): ChildProcess {
    const child = fork(WORKER, [], {
      // From source, Node strips the worker's types itself (it has no local imports); no loader needed.
      execArgv: [],
      env: { ...process.env, UV_THREADPOOL_SIZE: String(this.threads), SCRYPT_NICE: String(this.nice) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    child.on('message', (a: HashAnswer) => {
      const p = this.pending.get(a.id);
      if (!p) return;
      this.pending.delete(a.id);
      if (a.ok) p.resolve(a.value);
      else p.reject(new Error(a.error));
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
      for (const p of this.pending.values()) p.reject(new Error('password hashing process exited'));
      this.pending.clear();
    });
    // Neither keeps the server alive; the worker exits when the channel closes.
    child.unref();
    child.channel?.unref();
    this.child = child;
    return child;
  }

  close(): void {
    this.child?.disconnect();
    this.child = undefined;
  }
}
