// Write-behind of what the hot path observes, flushed in batches by one background timer on its own
// EntityManager: `last_used_at` (at most once per key per minute), verifications per key per minute
// by outcome (upsert-added into api_key_usage), and the networks each key is used from (new-source
// alerts, decided here, off the hot path). Advisory only: a crash loses at most one interval of it.
// Credits are not here: they are decremented before a use is admitted (credits.ts). The first use
// after a long idle period is also recorded in the audit log from here. A periodic job, safe with
// several replicas, rolls minute buckets up into hours and drops buckets older than 90 days.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit.service.js';
import type { Clock } from '../common/clock.js';
import { networkOf } from './ip-allowlist.js';
import type { KeyRecord } from './record.js';

const TOUCH_EVERY_MS = 60_000;
/** A key unused this long whose next use is worth an audit event. */
const IDLE_MS = 30 * 86_400_000;
const MAX_BATCH = 500;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Minute buckets are kept this long, then rolled up into hour buckets. */
export const MINUTE_RETENTION_MS = 24 * HOUR_MS;
/** Every bucket is kept this long. */
export const USAGE_RETENTION_MS = 90 * 86_400_000;
const ROLLUP_EVERY_MS = 10 * MINUTE_MS;
/** Distinct client addresses remembered per key per minute for new-source detection. */
const MAX_IPS = 64;
/** A network written for a key this recently is not written again (last_seen_at is coarse on purpose). */
const SOURCE_REFRESH_MS = HOUR_MS;

/** The outcomes counted, in column order. */
export const OUTCOMES = ['valid', 'rate_limited', 'usage_exceeded', 'expired', 'revoked', 'disabled', 'forbidden'] as const;
export type Outcome = (typeof OUTCOMES)[number];
const COLUMNS = OUTCOMES.join(', ');

/** One key's verifications in one minute, counted in memory on the hot path. */
export interface UsageCounter {
  keyId: string;
  organizationId: string | null;
  clientOrganizationId: string | null;
  userId: string;
  minute: number;
  counts: number[];
  /** Client addresses seen (bounded), for new-source detection at flush time. */
  ips?: Set<string>;
  lastIp?: string;
  /** Taken by a flush: the next use starts a fresh counter. */
  done: boolean;
}

interface Pending {
  lastUsedAt?: number;
  idleSince?: number | null;
  organizationId: string | null;
  userId: string;
}

interface Who {
  keyId: string;
  organizationId: string | null;
  clientOrganizationId: string | null;
  userId: string;
}

export class UsageRecorder {
  private pending = new Map<string, Pending>();
  /** keyId → the counter of its current minute. */
  private counters = new Map<string, UsageCounter>();
  /** Counters of earlier minutes, not yet written. */
  private closed: UsageCounter[] = [];
  /** `${keyId} ${network}` → when this process last wrote it. */
  private sourcesWritten = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private rollupTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly em: () => EntityManager,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  start(intervalMs = 5_000): void {
    this.stop();
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
    this.rollupTimer = setInterval(() => void this.rollup().catch((err) => this.log.warn({ err: (err as Error).message }, 'api key usage roll-up failed')), ROLLUP_EVERY_MS);
    this.rollupTimer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.rollupTimer) clearInterval(this.rollupTimer);
    this.timer = this.rollupTimer = undefined;
  }

  private entry(r: KeyRecord): Pending {
    let p = this.pending.get(r.id);
    if (!p) {
      p = { organizationId: r.organizationId, userId: r.userId };
      this.pending.set(r.id, p);
    }
    return p;
  }

  /** A verified use at `now`: remembered in memory, written at most once a minute per key. */
  touch(r: KeyRecord, now: number): void {
    const last = r.lastUsedAt;
    if (last !== null && now - last < TOUCH_EVERY_MS) return;
    r.lastUsedAt = now;
    const p = this.entry(r);
    if (p.idleSince === undefined && (last === null ? false : now - last >= IDLE_MS)) p.idleSince = last;
    p.lastUsedAt = now;
  }

  /** One verification of a known key with its outcome (index into OUTCOMES), from `ip`. Memory only. */
  count(r: KeyRecord, outcome: number, now: number, ip: string | undefined): void {
    const minute = now - (now % MINUTE_MS);
    let c = r.counter;
    if (!c || c.done || c.minute !== minute) c = r.counter = this.counterFor(r, minute);
    c.counts[outcome]++;
    if (ip && ip !== c.lastIp) {
      c.lastIp = ip;
      const ips = (c.ips ??= new Set());
      if (ips.size < MAX_IPS) ips.add(ip);
    }
  }

  private counterFor(r: KeyRecord, minute: number): UsageCounter {
    const c = this.counters.get(r.id);
    if (c && c.minute === minute) return c;
    if (c) this.closed.push(c);
    const fresh: UsageCounter = {
      keyId: r.id,
      organizationId: r.organizationId,
      clientOrganizationId: r.clientOrganizationId,
      userId: r.userId,
      minute,
      counts: [0, 0, 0, 0, 0, 0, 0],
      done: false,
    };
    this.counters.set(r.id, fresh);
    return fresh;
  }

  /** Nothing: credits are stored before each use is admitted, so the stored value is current. */
  pendingRemaining(_keyId: string, _generation: number): number | undefined {
    return undefined;
  }

  /**
   * Write everything pending now (also called on shutdown and by tests). Flushes run one after another:
   * a flush asked for while one is writing runs after it, so what was counted before the call is written
   * when its promise resolves.
   */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.write());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<void> {
    const counters = [...this.closed, ...this.counters.values()];
    this.closed = [];
    this.counters = new Map();
    for (const c of counters) c.done = true;
    try {
      await this.writeCounters(counters);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, counters: counters.length }, 'api key usage counts write-behind failed');
    }
    while (this.pending.size) {
      const batch = [...this.pending].slice(0, MAX_BATCH);
      for (const [id] of batch) this.pending.delete(id);
      try {
        await this.writeBatch(batch);
      } catch (err) {
        // Usage data is advisory: log and drop rather than retry forever.
        this.log.warn({ err: (err as Error).message, keys: batch.length }, 'api key usage write-behind failed');
        return;
      }
    }
  }

  private async writeCounters(counters: UsageCounter[]): Promise<void> {
    // Several counters of one key and minute (a clock set back, a reloaded record) are added together first.
    const rows = new Map<string, UsageCounter>();
    const sources = new Map<string, { who: Who; network: string; ip: string; at: number }>();
    for (const c of counters) {
      const k = `${c.keyId} ${c.minute}`;
      const row = rows.get(k);
      if (row) for (let i = 0; i < OUTCOMES.length; i++) row.counts[i] += c.counts[i];
      else rows.set(k, { ...c, counts: [...c.counts] });
      for (const ip of c.ips ?? []) {
        const network = networkOf(ip);
        if (!network) continue;
        const sk = `${c.keyId} ${network}`;
        const at = c.minute;
        const s = sources.get(sk);
        if (!s) sources.set(sk, { who: c, network, ip, at });
        else if (at > s.at) (s.at = at), (s.ip = ip);
      }
    }
    const conn = this.em().getConnection();
    const list = [...rows.values()].filter((r) => r.counts.some((n) => n > 0));
    for (let i = 0; i < list.length; i += MAX_BATCH) {
      const chunk = list.slice(i, i + MAX_BATCH);
      await conn.execute(
        `insert into api_key_usage (key_id, resolution, bucket, organization_id, ${COLUMNS})
           select v.key_id, 'minute', v.bucket::timestamptz, v.organization_id, ${OUTCOMES.map((o) => `v.${o}::bigint`).join(', ')}
             from (values ${chunk.map(() => `(?, ?, ?, ${OUTCOMES.map(() => '?').join(', ')})`).join(', ')}) as v(key_id, bucket, organization_id, ${COLUMNS})
             where exists (select 1 from api_keys k where k.id = v.key_id)
         on conflict (key_id, resolution, bucket) do update set ${OUTCOMES.map((o) => `${o} = api_key_usage.${o} + excluded.${o}`).join(', ')}`,
        chunk.flatMap((r) => [r.keyId, new Date(r.minute).toISOString(), r.organizationId, ...r.counts]),
      );
    }
    await this.writeSources([...sources.values()]);
  }

  /**
   * Remembers each (key, network) pair and records `api_key.new_source` for a network the key has not
   * been used from in 30 days (at most once a day). The upsert's WHERE makes the decision atomic: with
   * several replicas flushing the same pair, the row lock lets exactly one of them see it as new.
   */
  private async writeSources(all: { who: Who; network: string; ip: string; at: number }[]): Promise<void> {
    const due = all.filter((s) => {
      const written = this.sourcesWritten.get(`${s.who.keyId} ${s.network}`);
      return written === undefined || s.at - written >= SOURCE_REFRESH_MS;
    });
    if (!due.length) return;
    const em = this.em();
    const conn = em.getConnection();
    const alerts: typeof due = [];
    for (let i = 0; i < due.length; i += MAX_BATCH) {
      const chunk = due.slice(i, i + MAX_BATCH);
      const values = chunk.map(() => '(?, ?, ?)').join(', ');
      const params = chunk.flatMap((s) => [s.who.keyId, s.network, new Date(s.at).toISOString()]);
      const fresh = await conn.execute<{ key_id: string; network: string }[]>(
        `insert into api_key_sources as s (key_id, network, first_seen_at, last_seen_at, alerted_at)
           select v.key_id, v.network, v.t::timestamptz, v.t::timestamptz, v.t::timestamptz from (values ${values}) as v(key_id, network, t)
             where exists (select 1 from api_keys k where k.id = v.key_id)
         on conflict (key_id, network) do update set last_seen_at = greatest(s.last_seen_at, excluded.last_seen_at), alerted_at = excluded.last_seen_at
           where s.last_seen_at <= excluded.last_seen_at - interval '30 days' and (s.alerted_at is null or s.alerted_at <= excluded.last_seen_at - interval '1 day')
         returning s.key_id, s.network`,
        params,
      );
      await conn.execute(
        `update api_key_sources s set last_seen_at = v.t::timestamptz from (values ${values}) as v(key_id, network, t)
           where s.key_id = v.key_id and s.network = v.network and s.last_seen_at < v.t::timestamptz`,
        params,
      );
      const isNew = new Set(fresh.map((r) => `${r.key_id} ${r.network}`));
      for (const s of chunk) if (isNew.has(`${s.who.keyId} ${s.network}`)) alerts.push(s);
    }
    if (this.sourcesWritten.size > 100_000) this.sourcesWritten.clear();
    for (const s of due) this.sourcesWritten.set(`${s.who.keyId} ${s.network}`, s.at);
    for (const s of alerts) {
      await this.recordFor(em, s.who, {
        actorType: 'api_key',
        actorId: s.who.keyId,
        ip: s.ip,
        userAgent: '',
        type: 'api_key.new_source',
        targetType: 'api_key',
        targetId: s.who.keyId,
        metadata: { network: s.network, ip: s.ip, firstSeenAt: new Date(s.at).toISOString(), personal: !s.who.organizationId },
      });
    }
    if (alerts.length) await em.flush();
  }

  /** An event in the key's organization (and its client organization), or in each of its owner's for a personal token. */
  private async recordFor(em: EntityManager, who: Who, e: Parameters<AuditLog['recordForUser']>[2]): Promise<void> {
    if (who.organizationId) {
      this.audit.record(em, { ...e, organizationId: who.organizationId });
      if (who.clientOrganizationId) this.audit.record(em, { ...e, organizationId: who.clientOrganizationId });
    } else await this.audit.recordForUser(em, who.userId, e);
  }

  private async writeBatch(batch: [string, Pending][]): Promise<void> {
    const em = this.em();
    const used = batch.filter(([, p]) => p.lastUsedAt !== undefined);
    const idle = batch.filter(([, p]) => p.idleSince);
    if (used.length) {
      await em.getConnection().execute(
        `update api_keys k set last_used_at = greatest(coalesce(k.last_used_at, v.t::timestamptz), v.t::timestamptz)
           from (values ${used.map(() => '(?, ?)').join(', ')}) as v(id, t) where k.id = v.id`,
        used.flatMap(([id, p]) => [id, new Date(p.lastUsedAt!).toISOString()]),
      );
    }
    if (idle.length) {
      for (const [id, p] of idle) {
        const e = {
          actorType: 'api_key' as const,
          actorId: id,
          ip: '',
          userAgent: '',
          type: 'api_key.used_after_idle' as const,
          targetType: 'api_key',
          targetId: id,
          metadata: { idleSince: new Date(p.idleSince!).toISOString(), usedAt: new Date(p.lastUsedAt!).toISOString() },
        };
        if (p.organizationId) this.audit.record(em, { ...e, organizationId: p.organizationId });
        else await this.audit.recordForUser(em, p.userId, e);
      }
      await em.flush();
    }
  }

  /**
   * Minute buckets older than MINUTE_RETENTION_MS move into their hour buckets; buckets older than
   * USAGE_RETENTION_MS go. One statement moves the rows: with several replicas running it at once, each
   * minute row is deleted (and so added to its hour) by exactly one of them.
   */
  async rollup(now = this.clock.now().getTime()): Promise<void> {
    const cutoff = now - MINUTE_RETENTION_MS;
    const hourCutoff = cutoff - (cutoff % HOUR_MS);
    const conn = this.em().getConnection();
    await conn.execute(
      `with moved as (delete from api_key_usage where resolution = 'minute' and bucket < ?::timestamptz returning *)
       insert into api_key_usage (key_id, resolution, bucket, organization_id, ${COLUMNS})
         select key_id, 'hour', to_timestamp(floor(extract(epoch from bucket) / 3600) * 3600), max(organization_id), ${OUTCOMES.map((o) => `sum(${o})`).join(', ')}
           from moved group by key_id, floor(extract(epoch from bucket) / 3600)
       on conflict (key_id, resolution, bucket) do update set ${OUTCOMES.map((o) => `${o} = api_key_usage.${o} + excluded.${o}`).join(', ')}`,
      [new Date(hourCutoff).toISOString()],
    );
    await conn.execute(`delete from api_key_usage where bucket < ?::timestamptz`, [new Date(now - USAGE_RETENTION_MS).toISOString()]);
  }

  async close(): Promise<void> {
    this.stop();
    await this.flush();
  }
}
