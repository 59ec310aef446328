// Attaches the metrics to services built elsewhere by wrapping one method each, so the modules
// stay free of metrics code: the authenticator (verifications), the key cache (hits/misses) and
// the database connection (statement durations).
import { readFileSync } from 'node:fs';
import type { Deps } from '../deps.js';
import type { Principal } from '../modules/common/principal.js';
import type { Credentials } from '../modules/session/credentials.js';
import { buildInfo, cacheLookups, credentialVerifications, dbQueryDuration } from './registry.js';

const KINDS: Record<Principal['kind'], string> = { apiKey: 'api_key', jwt: 'jwt', session: 'session' } as Record<Principal['kind'], string>;
const verified = new Map<string, ReturnType<typeof credentialVerifications.labels>>();
const verification = (kind: string, outcome: 'ok' | 'rejected') => {
  const key = kind + outcome;
  let c = verified.get(key);
  if (!c) verified.set(key, (c = credentialVerifications.labels(kind, outcome)));
  return c;
};
const hit = cacheLookups.labels('api_key', 'hit');
const miss = cacheLookups.labels('api_key', 'miss');
const VERBS = ['select', 'insert', 'update', 'delete'];

function version(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version;
    } catch {
      /* try the next layout (source or compiled) */
    }
  }
  return 'unknown';
}

const instrumented = new WeakSet<object>();

export function instrument(deps: Deps): void {
  buildInfo.set({ version: version(), node: process.versions.node }, 1);
  if (instrumented.has(deps)) return;
  instrumented.add(deps);

  const auth = deps.authenticator;
  const authenticate = auth.authenticate.bind(auth);
  auth.authenticate = async (c: Credentials) => {
    let p: Principal | undefined;
    try {
      p = await authenticate(c);
    } catch (e) {
      // A bad bearer could be a JWT or a key: its prefix says which verifier would have read it.
      const kind = c.apiKey !== undefined || c.bearer?.startsWith(deps.config.apiKeyPrefix + '_') ? 'api_key' : c.bearer !== undefined ? 'jwt' : 'session';
      verification(kind, 'rejected').inc();
      throw e;
    }
    if (p) verification(KINDS[p.kind] ?? p.kind, 'ok').inc();
    return p;
  };

  const cache = deps.apiKeys.cache;
  const get = cache.get.bind(cache);
  cache.get = (hash, load) => {
    const r = get(hash, load);
    (r instanceof Promise ? miss : hit).inc();
    return r;
  };

  // MikroORM routes every statement through Connection.executeQuery(sql, run, context).
  const conn = deps.db.orm.em.getConnection() as unknown as { executeQuery(q: string, cb: () => Promise<unknown>, ctx?: unknown): Promise<unknown> };
  const executeQuery = conn.executeQuery.bind(conn);
  conn.executeQuery = async (q, cb, ctx) => {
    const head = q.trimStart().slice(0, 6).toLowerCase();
    const verb = VERBS.includes(head) ? head : 'other';
    const end = dbQueryDuration.startTimer({ verb });
    try {
      const r = await executeQuery(q, cb, ctx);
      end({ outcome: 'ok' });
      return r;
    } catch (e) {
      end({ outcome: 'error' });
      throw e;
    }
  };
}
