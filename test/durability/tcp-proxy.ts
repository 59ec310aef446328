// A TCP proxy between the server and its database that a test can cut (every connection dropped,
// new ones reset, or refused outright) and restore: a database outage without stopping the
// shared PostgreSQL.
import net from 'node:net';

export type CutMode = 'reset' | 'refuse';

export class CuttableProxy {
  private readonly server = net.createServer((c) => this.accept(c));
  private readonly sockets = new Set<net.Socket>();
  private mode: CutMode | undefined;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.mode) return void client.resetAndDestroy();
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  /** Drop every open connection; new ones are reset ('reset') or refused, nothing listening ('refuse'). */
  async cut(mode: CutMode = 'reset'): Promise<void> {
    this.mode = mode;
    for (const s of this.sockets) s.resetAndDestroy();
    if (mode === 'refuse') await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async restore(): Promise<void> {
    if (this.mode === 'refuse') await this.start(this.port);
    this.mode = undefined;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
