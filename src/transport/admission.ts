// Fair admission: at most `total` requests run at once, at most `perConnection` of them from one
// connection (an HTTP/2 session or an HTTP/1.1 socket); the others wait in their connection's
// queue, and a freed slot goes to the next connection in turn. One session opening thousands of
// streams then gets its share of the event loop, not all of it: a request on another connection
// waits for one slot, not behind the flood.

type Waiter = () => void;

interface Lane {
  active: number;
  waiting: Waiter[];
}

export class Admission {
  private active = 0;
  private readonly lanes = new Map<object, Lane>();
  /** Connections with someone waiting and room to run, in the order they get the next slot. */
  private readonly turn = new Set<Lane>();

  constructor(
    private readonly total: number,
    private readonly perConnection: number,
  ) {}

  /** Runs `start` now or when the connection's turn comes; the returned function frees the slot
   * (or leaves the queue) and is safe to call more than once. */
  admit(connection: object, start: () => void): () => void {
    let lane = this.lanes.get(connection);
    if (!lane) this.lanes.set(connection, (lane = { active: 0, waiting: [] }));
    const owner = lane;
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    const run = () => {
      state = 'running';
      this.active++;
      owner.active++;
      start();
    };
    if (this.active < this.total && lane.active < this.perConnection && lane.waiting.length === 0) run();
    else {
      lane.waiting.push(run);
      if (lane.active < this.perConnection) this.turn.add(lane);
    }
    return () => {
      if (state === 'done') return;
      if (state === 'waiting') {
        const i = owner.waiting.indexOf(run);
        if (i >= 0) owner.waiting.splice(i, 1);
        if (owner.waiting.length === 0) this.turn.delete(owner);
      } else {
        this.active--;
        owner.active--;
        if (owner.waiting.length > 0) this.turn.add(owner);
      }
      state = 'done';
      if (owner.active === 0 && owner.waiting.length === 0) this.lanes.delete(connection);
      this.next();
    };
  }

  private next(): void {
    while (this.active < this.total && this.turn.size > 0) {
      const lane = this.turn.values().next().value as Lane;
      this.turn.delete(lane);
      const run = lane.waiting.shift()!;
      // Back of the line: the other connections waiting go first.
      if (lane.waiting.length > 0 && lane.active + 1 < this.perConnection) this.turn.add(lane);
      run();
    }
  }

  /** Requests running and waiting, for metrics and tests. */
  get load(): { active: number; waiting: number } {
    let waiting = 0;
    for (const lane of this.lanes.values()) waiting += lane.waiting.length;
    return { active: this.active, waiting };
  }
}
