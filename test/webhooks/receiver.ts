// A webhook receiver for tests: a real HTTP server on 127.0.0.1 that verifies every delivery's
// Standard Webhooks signature with the `standardwebhooks` package and records what it got. Tests
// wait on what it received (never on time).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, any> };
  /** The secrets (of `secrets` at arrival) whose signature verified. */
  verifiedWith: string[];
  /** What the receiver answered. */
  status: number;
  path: string;
}

export interface Receiver {
  url: string;
  port: number;
  /** Secrets the signatures are checked against (set after the endpoint is created). */
  secrets: string[];
  /** Every request, in arrival order. */
  received: Received[];
  /** Requests answered 2xx. */
  accepted(): Received[];
  /** The answer to a request (default 204); may return a promise that never settles (a hanging receiver). */
  respond: (r: Received, res: http.ServerResponse) => number | Promise<number>;
  /** Resolves once `pred(received)` holds (checked at every arrival); rejects after `timeoutMs`. */
  waitFor(pred: (all: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>;
  stop(): Promise<void>;
}

export async function startReceiver(port = 0): Promise<Receiver> {
  const waiters: Array<() => void> = [];
  const r: Receiver = {
    url: '',
    port: 0,
    secrets: [],
    received: [],
    accepted: () => r.received.filter((x) => x.status >= 200 && x.status < 300),
    respond: () => 204,
    waitFor(pred, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred(r.received)) return false;
          clearTimeout(timer);
          resolve(r.received);
          return true;
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`receiver: condition not met within ${timeoutMs} ms; got ${r.received.map((x) => `${x.event?.type}:${x.status}`).join(', ')}`));
        }, timeoutMs);
        const waiter = () => {
          if (check()) waiters.splice(waiters.indexOf(waiter), 1);
        };
        if (!check()) waiters.push(waiter);
      });
    },
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      const verifiedWith = r.secrets.filter((s) => {
        try {
          new Webhook(s).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      let event: Received['event'];
      try {
        event = JSON.parse(body);
      } catch {
        event = { type: '', timestamp: '', data: {} };
      }
      const rec: Received = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, event, verifiedWith, status: 0, path: req.url ?? '' };
      const status = await r.respond(rec, res);
      rec.status = status;
      r.received.push(rec);
      if (!res.headersSent) res.writeHead(status).end();
      for (const w of [...waiters]) w();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}/hooks`;
  return r;
}

/** The first received event of `type` (optionally matching `pred`). */
export const ofType = (all: Received[], type: string, pred: (r: Received) => boolean = () => true) => all.filter((r) => r.event.type === type && pred(r));
