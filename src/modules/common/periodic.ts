// A background job of this replica: `task` runs every `intervalMs`, one round at a time (the next is
// scheduled when one ends), a failed round is handed to `onError` and the next runs as planned; stop()
// waits for a round under way. Timers are unref'd: a job never keeps the process alive.
export class Periodic {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.running = this.task()
        .then(
          () => undefined,
          (err) => this.onError(err as Error),
        )
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs).unref();
  }
}
