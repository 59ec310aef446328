// The API-key module, wired: lifecycle RPCs, the hot-path verifier (a BearerVerifier), leak reports,
// write-behind of usage, and cache invalidation across replicas.
import { RequestContext } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit.service.js';
import type { InvalidationBus } from '../common/bus.js';
import type { CacheContext } from '../common/cache.js';
import type { Clock } from '../common/clock.js';
import type { OrgService } from '../org/org.service.js';
import type { RateLimiter } from '../ratelimit/index.js';
import { ApiKeyLifecycle, type KeyPolicy } from './api-key.service.js';
import { Credits } from './credits.js';
import { KeyCache } from './key-cache.js';
import { type LeakMail, LeakReports } from './leak.js';
import { KeyReach } from './reach.js';
import { loadByHash, loadById } from './record.js';
import { type ScanningKeysConfig, SecretScanning, secretScanningRoute } from './secret-scanning.js';
import { UsageRecorder } from './usage.js';
import { UsageQuery } from './usage-query.js';
import { KeyVerifier } from './verifier.js';

export { ApiKey, statusOf } from './api-key.entity.js';
export type { KeyCaller } from './api-key.service.js';
export { isWellFormedKey } from './key-format.js';

export interface ApiKeyOptions {
  em: EntityManager;
  /** A fresh EntityManager for background work. */
  forkEm: () => EntityManager;
  audit: AuditLog;
  orgs: OrgService;
  limiter: RateLimiter;
  mail: LeakMail;
  clock: Clock;
  log: Logger;
  prefix: string;
  orgTypes: string[];
  /** Every replica's caches, kept in step (and the trust bound while it is lost). */
  bus: InvalidationBus;
  caches: CacheContext;
  /** SECRET_SCANNING_PUBLIC_KEYS; undefined = no secret-scanning endpoint. */
  secretScanning?: ScanningKeysConfig;
  /** Largest request body accepted (the secret-scanning endpoint reads its own). */
  maxBodyBytes: number;
  /** The organization's key rules (maximum lifetime, keys must expire): a 400 naming the limit. */
  keyPolicy?: KeyPolicy;
}

export interface ApiKeys {
  lifecycle: ApiKeyLifecycle;
  verifier: KeyVerifier;
  leaks: LeakReports;
  reach: KeyReach;
  usage: UsageRecorder;
  /** GetApiKeyUsage. */
  usageQuery: UsageQuery;
  cache: KeyCache;
  /** The GitHub secret-scanning endpoint (server.ts calls it before routing; false = not this path). */
  secretScanningRoute: ReturnType<typeof secretScanningRoute>;
  close(): Promise<void>;
}

export async function createApiKeys(o: ApiKeyOptions): Promise<ApiKeys> {
  const cache = new KeyCache(o.caches);
  const reach = new KeyReach(o.em, o.orgs, o.caches);
  const bus = o.bus;
  bus.subscribe((inv) => {
    cache.apply(inv);
    if ('organizationId' in inv) reach.forget(inv.organizationId);
    if ('all' in inv) reach.forget();
  });
  // Credits count in the database itself (durable across a crash, shared by replicas): no Redis counter.
  const credits = new Credits((sql, params) => o.em.getConnection().execute(sql, params));
  const usage = new UsageRecorder(o.forkEm, o.audit, o.log, o.clock);
  usage.start();
  const verifier = new KeyVerifier(
    cache,
    (hash) => loadByHash(o.em, hash),
    o.limiter,
    credits,
    usage,
    o.clock,
    (id) => loadById(o.em, id),
  );
  const lifecycle = new ApiKeyLifecycle(o.em, o.audit, o.clock, reach, bus, { prefix: o.prefix, orgTypes: o.orgTypes, keyPolicy: o.keyPolicy });
  const leaks = new LeakReports(o.em, lifecycle, bus, o.limiter, o.mail);
  const scanning = o.secretScanning ? new SecretScanning(o.secretScanning, leaks) : undefined;
  const inContext = <T>(fn: () => Promise<T>) => RequestContext.create(o.em, fn);
  return {
    lifecycle,
    verifier,
    leaks,
    reach,
    usage,
    usageQuery: new UsageQuery(o.em, lifecycle, o.clock),
    cache,
    secretScanningRoute: secretScanningRoute(scanning, inContext, o.maxBodyBytes, (err) => o.log.error({ err }, 'secret-scanning request failed')),
    async close() {
      await usage.close();
      await credits.close();
    },
  };
}
