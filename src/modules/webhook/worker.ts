// The delivery worker. Every replica runs one; they share the work through the database:
// 1. fan-out: outbox events not yet dispatched (claimed with FOR UPDATE SKIP LOCKED) become one
//    delivery per matching endpoint, in one transaction;
// 2. delivery: due deliveries are claimed with one UPDATE … WHERE id IN (… FOR UPDATE SKIP LOCKED)
//    that also moves their due time past the attempt's lease, so no other replica takes them while
//    the request is in flight, and a replica that dies mid-attempt leaves them to be retried;
// 3. the outcome is written only if the row is still the one claimed (same attempt count).
// At-least-once: a receiver may see an event twice (a lost response, a crash), always with the
// same webhook-id.
import { performance } from 'node:perf_hooks';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { Agent, fetch } from 'undici';
import type { Clock } from '../common/clock.js';
import { ulid } from '../common/ids.js';
import { Periodic } from '../common/periodic.js';
import { checkAddress, publicOnlyLookup } from './address.js';
import type { WebhookEndpoints } from './endpoints.js';
import { matchesFilter } from './events.js';

export interface WorkerSettings {
  /** WEBHOOK_WORKER_INTERVAL_MS: how often a replica looks for work. */
  intervalMs: number;
  /** WEBHOOK_TIMEOUT_MS: a receiver that has not answered in this long counts as failed. */
  timeoutMs: number;
  /** WEBHOOK_RETRY_BASE_MS: the first retry's delay; each next one doubles (with jitter). */
  retryBaseMs: number;
  /** WEBHOOK_RETRY_MAX_DELAY_MS: the longest delay between two attempts. */
  retryMaxDelayMs: number;
  /** WEBHOOK_RETRY_WINDOW_SECONDS: retries stop (dead letter) this long after the first attempt. */
  retryWindowSeconds: number;
  /** WEBHOOK_CONCURRENCY: requests in flight per replica. */
  concurrency: number;
  allowPrivate: boolean;
}

interface Claimed {
  id: string;
  endpoint_id: string;
  event_id: string;
  attempts: number;
  window_start_at: Date | string;
}

interface EndpointRow {
  id: string;
  url: string;
  enabled: boolean;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | string | null;
}

interface Outcome {
  c: Claimed;
  status: 'delivered' | 'pending' | 'dead_lettered';
  next?: Date;
  code?: number;
  latencyMs?: number;
  error?: string;
}

const FAN_OUT_BATCH = 200;
/** Delivered and dead-lettered deliveries (and their events) are kept this long for the log and replays. */
const RETENTION_MS = 30 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;
const USER_AGENT = 'Latchkey-Webhooks/1';
const place = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const date = (v: Date | string | null) => (v === null ? null : new Date(v));

/** Delay before attempt `attempt + 1`: exponential, capped, with "equal jitter" (half fixed, half random). */
function retryDelayMs(attempt: number, s: Pick<WorkerSettings, 'retryBaseMs' | 'retryMaxDelayMs'>, random = Math.random()): number {
  const d = Math.min(s.retryBaseMs * 2 ** Math.max(0, attempt - 1), s.retryMaxDelayMs);
  return Math.round(d / 2 + (random * d) / 2);
}

export class DeliveryWorker {
  private readonly agent: Agent;
  private readonly job: Periodic;
  private stopped = false;
  private prunedAt = 0;
  /** Requests this replica sent (every attempt), for operators and tests. */
  sent = 0;

  constructor(
    private readonly forkEm: () => EntityManager,
    private readonly clock: Clock,
    private readonly endpoints: WebhookEndpoints,
    private readonly log: Logger,
    private readonly s: WorkerSettings,
  ) {
    // Never follow redirects (fetch below says manual); connect only to public addresses unless allowed.
    this.agent = new Agent({ connect: s.allowPrivate ? {} : { lookup: publicOnlyLookup }, keepAliveTimeout: 10_000 });
    this.job = new Periodic(
      () => this.tick(),
      s.intervalMs,
      (err) => this.log.warn({ err: err.message }, 'webhook worker tick failed'),
    );
  }

  start(): void {
    this.job.start();
  }

  async close(): Promise<void> {
    this.stopped = true; // a round under way sends no further batch
    await this.job.stop();
    await this.agent.close();
  }

  /** One round: fan out new events, then send due deliveries until none is left or a round is long enough. */
  async tick(): Promise<void> {
    await this.prune();
    while ((await this.fanOut()) === FAN_OUT_BATCH);
    for (let round = 0; round < 10 && !this.stopped; round++) {
      if ((await this.deliverDue()) < this.s.concurrency) break;
    }
  }

  /** Hourly: the log keeps 30 days. Idempotent, so replicas doing it at once do no harm. */
  private async prune(): Promise<void> {
    const now = this.clock.now().getTime();
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    const before = new Date(now - RETENTION_MS);
    const em = this.forkEm();
    await em.execute(`delete from webhook_deliveries where status <> 'pending' and updated_at < ?`, [before]);
    await em.execute(`delete from webhook_events e where e.dispatched_at < ? and not exists (select 1 from webhook_deliveries d where d.event_id = e.id)`, [before]);
  }

  async fanOut(): Promise<number> {
    return this.forkEm().transactional(async (tx) => {
      const events = await tx.execute<{ id: string; organization_id: string; type: string; created_at: Date | string }[]>(
        `select id, organization_id, type, created_at from webhook_events where dispatched_at is null order by id limit ${FAN_OUT_BATCH} for update skip locked`,
      );
      if (events.length === 0) return 0;
      const orgs = [...new Set(events.map((e) => e.organization_id))];
      const endpoints = await tx.execute<{ id: string; organization_id: string; event_types: string[] | string; created_at: Date | string }[]>(
        `select id, organization_id, event_types, created_at from webhook_endpoints where enabled and organization_id in (${place(orgs.length)})`,
        orgs,
      );
      const now = this.clock.now();
      const rows: unknown[][] = [];
      for (const ev of events) {
        for (const ep of endpoints) {
          const filter = typeof ep.event_types === 'string' ? JSON.parse(ep.event_types) : ep.event_types;
          // An endpoint gets the events that happened after it was created, never older ones.
          if (ep.organization_id !== ev.organization_id || new Date(ep.created_at) > new Date(ev.created_at) || !matchesFilter(filter, ev.type)) continue;
          rows.push([`wd_${ulid(now.getTime())}`, now, now, ev.organization_id, ep.id, ev.id, ev.type, 'pending', 0, now, now]);
        }
      }
      if (rows.length) {
        await tx.execute(
          `insert into webhook_deliveries (id, created_at, updated_at, organization_id, endpoint_id, event_id, event_type, status, attempts, window_start_at, next_attempt_at)
           values ${rows.map(() => `(${place(11)})`).join(', ')} on conflict (event_id, endpoint_id) do nothing`,
          rows.flat(),
        );
      }
      const ids = events.map((e) => e.id);
      await tx.execute(`update webhook_events set dispatched_at = ? where id in (${place(ids.length)})`, [now, ...ids]);
      // An event no endpoint wants is not kept: the outbox holds only what is to be (or was) delivered.
      await tx.execute(`delete from webhook_events e where e.id in (${place(ids.length)}) and not exists (select 1 from webhook_deliveries d where d.event_id = e.id)`, ids);
      return events.length;
    });
  }

  /** Claim up to `concurrency` due deliveries and send them in parallel; returns how many were claimed. */
  async deliverDue(): Promise<number> {
    const em = this.forkEm();
    const now = this.clock.now();
    const lease = new Date(now.getTime() + this.s.timeoutMs + 30_000);
    const claimed = await em.execute<Claimed[]>(
      `update webhook_deliveries set attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?, updated_at = ?
        where id in (select id from webhook_deliveries where status = 'pending' and next_attempt_at <= ?
                      order by next_attempt_at limit ${this.s.concurrency} for update skip locked)
        returning id, endpoint_id, event_id, attempts, window_start_at`,
      [lease, now, now, now],
    );
    if (claimed.length === 0) return 0;
    const endpointIds = [...new Set(claimed.map((c) => c.endpoint_id))];
    const eventIds = [...new Set(claimed.map((c) => c.event_id))];
    const endpoints = new Map(
      (
        await em.execute<EndpointRow[]>(
          `select id, url, enabled, secret_sealed, previous_secret_sealed, previous_secret_expires_at from webhook_endpoints where id in (${place(endpointIds.length)})`,
          endpointIds,
        )
      ).map((e) => [e.id, e]),
    );
    const payloads = new Map(
      (await em.execute<{ id: string; payload: unknown }[]>(`select id, payload from webhook_events where id in (${place(eventIds.length)})`, eventIds)).map((e) => [
        e.id,
        typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload),
      ]),
    );
    const outcomes = await Promise.all(claimed.map((c) => this.attempt(c, endpoints.get(c.endpoint_id), payloads.get(c.event_id))));
    await this.finish(
      em,
      outcomes.filter((o): o is Outcome => !!o),
    );
    return claimed.length;
  }

  private async attempt(c: Claimed, ep: EndpointRow | undefined, body: string | undefined): Promise<Outcome | undefined> {
    if (!ep || body === undefined) return; // deleted meanwhile: the cascade removes the delivery
    if (!ep.enabled) return { c, status: 'dead_lettered', error: 'endpoint disabled' };
    const started = performance.now();
    let code: number | undefined;
    let error = '';
    try {
      const url = new URL(ep.url);
      // Resolved again at every send (and checked once more by the agent's lookup as it connects).
      if (!this.s.allowPrivate) await checkAddress(url);
      const secrets = this.endpoints.secretsOf(
        { id: ep.id, secretSealed: ep.secret_sealed, previousSecretSealed: ep.previous_secret_sealed, previousSecretExpiresAt: date(ep.previous_secret_expires_at) },
        this.clock.now(),
      );
      // The wall clock, not the injected one: receivers compare webhook-timestamp with their own clocks.
      const sentAt = new Date();
      const signature = secrets.map((s) => new Webhook(s).sign(c.event_id, sentAt, body)).join(' ');
      this.sent++;
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': c.event_id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signature,
        },
        redirect: 'manual',
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.s.timeoutMs),
      });
      code = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (code < 200 || code > 299) error = code >= 300 && code < 400 ? `redirect (${code}) not followed` : `HTTP ${code}`;
    } catch (e) {
      const err = e as Error & { cause?: Error };
      error = err.name === 'TimeoutError' ? `no answer within ${this.s.timeoutMs} ms` : (err.cause?.message ?? err.message);
    }
    const latencyMs = Math.round(performance.now() - started);
    if (!error) return { c, status: 'delivered', code, latencyMs };
    const now = this.clock.now();
    const next = new Date(now.getTime() + retryDelayMs(c.attempts, this.s));
    const dead = next.getTime() - new Date(c.window_start_at).getTime() > this.s.retryWindowSeconds * 1000;
    return { c, status: dead ? 'dead_lettered' : 'pending', next: dead ? undefined : next, code, latencyMs, error };
  }

  /** One statement for a round's outcomes, each written only if its row is still the attempt claimed. */
  private async finish(em: EntityManager, outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const now = this.clock.now();
    const values = outcomes.map(() => `(${place(8)})`).join(', ');
    const params = outcomes.flatMap((o) => [o.c.id, o.c.attempts, o.status, o.next ?? null, o.code ?? null, o.latencyMs ?? null, (o.error ?? '').slice(0, 500), o.status === 'delivered' ? now : null]);
    try {
      await em.execute(
        `update webhook_deliveries d set status = v.status, next_attempt_at = v.next::timestamptz, last_status_code = v.code::int, last_latency_ms = v.latency::int,
                last_error = v.error, delivered_at = v.delivered::timestamptz, updated_at = ?
           from (values ${values}) as v(id, attempts, status, next, code, latency, error, delivered)
          where d.id = v.id and d.attempts = v.attempts::int and d.status = 'pending'`,
        [now, ...params],
      );
    } catch (err) {
      // The leases run out and the deliveries are tried again: at-least-once holds.
      this.log.warn({ err: (err as Error).message, deliveries: outcomes.length }, 'could not record webhook delivery outcomes');
    }
  }
}
