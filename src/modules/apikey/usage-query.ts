// GetApiKeyUsage: verifications over time for one key, or for every key of an organization the
// caller may see (ListApiKeys' rule), summed into minute or hour buckets. Hour buckets also sum the
// minute rows not yet rolled up, so a query never depends on when the roll-up last ran.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Clock } from '../common/clock.js';
import { invalid } from '../common/errors.js';
import type { ApiKeyLifecycle, KeyCaller } from './api-key.service.js';
import type { UsageResolution } from './usage.entity.js';
import { MINUTE_RETENTION_MS, OUTCOMES, type Outcome, USAGE_RETENTION_MS } from './usage.js';

const STEP_MS: Record<UsageResolution, number> = { minute: 60_000, hour: 3_600_000 };
const DEFAULT_RANGE_MS: Record<UsageResolution, number> = { minute: 3_600_000, hour: 86_400_000 };
const MAX_RANGE_MS: Record<UsageResolution, number> = { minute: MINUTE_RETENTION_MS, hour: USAGE_RETENTION_MS };

export interface UsageRequest {
  keyId: string;
  organizationId: string;
  start?: Date;
  end?: Date;
  resolution: UsageResolution;
}

export type Counts = Record<Outcome, number> & { start: Date; total: number };

const zero = (start: Date): Counts => ({ start, valid: 0, rate_limited: 0, usage_exceeded: 0, expired: 0, revoked: 0, disabled: 0, forbidden: 0, total: 0 });

export class UsageQuery {
  constructor(
    private readonly em: EntityManager,
    private readonly lifecycle: ApiKeyLifecycle,
    private readonly clock: Clock,
  ) {}

  async get(c: KeyCaller, q: UsageRequest): Promise<{ buckets: Counts[]; totals: Counts }> {
    const now = this.clock.now().getTime();
    const step = STEP_MS[q.resolution];
    const endRaw = q.end?.getTime() ?? now;
    const start = Math.floor((q.start?.getTime() ?? endRaw - DEFAULT_RANGE_MS[q.resolution]) / step) * step;
    const end = Math.ceil(endRaw / step) * step;
    if (end <= start) throw invalid('endTime', 'must be after startTime');
    if (end - start > MAX_RANGE_MS[q.resolution] + step) throw invalid('startTime', q.resolution === 'minute' ? 'a minute range covers at most 24 hours' : 'a range covers at most 90 days');
    if (q.resolution === 'minute' && start < now - MINUTE_RETENTION_MS - step) throw invalid('startTime', 'minutes are kept for 24 hours: use the hour resolution for older usage');

    let where: string;
    let params: unknown[];
    if (q.keyId) {
      const k = await this.lifecycle.get(c, q.keyId);
      where = 'u.key_id = ?';
      params = [k.id];
    } else {
      const v = await this.lifecycle.visible(c, q.organizationId);
      if (!v) return this.fill(start, end, step, []);
      if (v.organizationId === null) {
        where = 'u.organization_id is null and u.key_id in (select id from api_keys where organization_id is null and created_by_user_id = ?)';
        params = [v.createdByUserId];
      } else if (v.createdByUserId) {
        where = 'u.organization_id = ? and u.key_id in (select id from api_keys where organization_id = ? and created_by_user_id = ?)';
        params = [v.organizationId, v.organizationId, v.createdByUserId];
      } else {
        where = 'u.organization_id = ?';
        params = [v.organizationId];
      }
    }
    const seconds = step / 1000;
    const rows = await this.em.getConnection().execute<Record<string, string | number>[]>(
      `select (floor(extract(epoch from u.bucket) / ${seconds}) * ${seconds})::bigint as t, ${OUTCOMES.map((o) => `sum(u.${o}) as ${o}`).join(', ')}
         from api_key_usage u
        where ${where} and u.bucket >= ?::timestamptz and u.bucket < ?::timestamptz ${q.resolution === 'minute' ? "and u.resolution = 'minute'" : ''}
        group by 1 order by 1`,
      [...params, new Date(start).toISOString(), new Date(end).toISOString()],
    );
    return this.fill(start, end, step, rows);
  }

  private fill(start: number, end: number, step: number, rows: Record<string, string | number>[]): { buckets: Counts[]; totals: Counts } {
    const byTime = new Map(rows.map((r) => [Number(r.t) * 1000, r]));
    const buckets: Counts[] = [];
    const totals = zero(new Date(start));
    for (let t = start; t < end; t += step) {
      const b = zero(new Date(t));
      const r = byTime.get(t);
      if (r) {
        for (const o of OUTCOMES) {
          b[o] = Number(r[o] ?? 0);
          b.total += b[o];
          totals[o] += b[o];
        }
        totals.total += b.total;
      }
      buckets.push(b);
    }
    return { buckets, totals };
  }
}
