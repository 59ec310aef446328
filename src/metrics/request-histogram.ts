// The RPC duration histogram, observed on every request: one bucket increment on a series resolved
// once per (method, protocol, code), and handed to prom-client's registry as a metric whose values
// are read at scrape time. prom-client's own Histogram.observe validates and hashes the labels on
// every call; on the key-authenticated path that cost 12–16 % of the server's CPU per request
// (bench/metrics-overhead.ts), this costs what the bucket search costs.
import type { Registry } from 'prom-client';

interface Value {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); the last slot is above the largest bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class RequestHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // The registry only calls get() (and reads name, help, type): the shape of its own metrics.
    registry.registerMetric(this as never);
  }

  /** A new series for these labels; the caller keeps it (one per label set). */
  open(labels: Record<string, string>): Series {
    const s: Series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
    this.series.push(s);
    return s;
  }

  observe(s: Series, seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** What the registry prints: cumulative `_bucket` lines with `le`, then `_sum` and `_count`, per series. */
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Value[] } {
    const values: Value[] = [];
    for (const s of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: i < this.bounds.length ? String(this.bounds[i]) : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
