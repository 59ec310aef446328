// Every Redis connection of the process comes from here, so all of them share the same rules: every
// key and channel under REDIS_KEY_PREFIX; a bounded wait at start (an unreachable REDIS_URL stops the
// process with a message naming it); afterwards commands fail fast while Redis is away (a bounded
// command timeout and no offline queue: callers fail closed, never hang) and reconnection never stops.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisSettings {
  url: string;
  /** REDIS_KEY_PREFIX: prepended to every key and channel. */
  prefix: string;
  /** How long start-up waits for a first connection. */
  connectTimeoutMs: number;
  /** A command without an answer after this long fails (the request gets a 503/429, not a hang). */
  commandTimeoutMs: number;
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** The URL without its password, for messages and logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

// Reconnect quickly at first, then every 2 s, for as long as the process lives.
const retryStrategy = (times: number) => Math.min(100 * times, 2_000);

export class RedisConnections {
  private readonly opened: Redis[] = [];
  private commandsConnection?: Redis;

  private constructor(
    private readonly s: RedisSettings,
    private readonly log: Logger,
  ) {}

  /** Connect, or throw RedisUnavailableError naming REDIS_URL after `connectTimeoutMs`. */
  static async open(s: RedisSettings, log: Logger): Promise<RedisConnections> {
    const c = new RedisConnections(s, log);
    const commands = c.create('commands', { enableOfflineQueue: false, commandTimeout: s.commandTimeoutMs, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
    try {
      await c.ready(commands);
    } catch (e) {
      await c.close();
      throw e;
    }
    c.commandsConnection = commands;
    return c;
  }

  /** A key or channel name under REDIS_KEY_PREFIX. */
  name(suffix: string): string {
    return this.s.prefix + suffix;
  }

  /** The shared connection for commands (limits, credits, publish). */
  get commands(): Redis {
    return this.commandsConnection!;
  }

  /** A dedicated connection for SUBSCRIBE (a subscribed connection cannot send other commands). */
  async subscriber(purpose: string): Promise<Redis> {
    const r = this.create(purpose, { autoResubscribe: false, commandTimeout: this.s.commandTimeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await this.ready(r);
    return r;
  }

  private create(purpose: string, extra: RedisOptions): Redis {
    const r = new Redis(this.s.url, { retryStrategy, connectTimeout: Math.min(this.s.connectTimeoutMs, 5_000), lazyConnect: false, ...extra, connectionName: `latchkey:${purpose}` });
    let wasReady = false;
    r.on('ready', () => {
      if (wasReady) this.log.info({ purpose }, 'redis connection restored');
      wasReady = true;
    });
    r.on('close', () => {
      if (wasReady) this.log.warn({ purpose }, 'redis connection lost; reconnecting');
    });
    r.on('error', (err: Error) => this.log.debug({ purpose, err: err.message }, 'redis error'));
    this.opened.push(r);
    return r;
  }

  private ready(r: Redis): Promise<void> {
    if (r.status === 'ready') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let last = 'no answer';
      const onError = (err: Error) => (last = err.message || err.name);
      const timer = setTimeout(() => {
        r.off('ready', onReady);
        r.off('error', onError);
        reject(new RedisUnavailableError(`REDIS_URL ${redactUrl(this.s.url)} is unreachable after ${Math.round(this.s.connectTimeoutMs / 1000)} s (${last}); start Redis or unset REDIS_URL`));
      }, this.s.connectTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        r.off('error', onError);
        resolve();
      };
      r.once('ready', onReady);
      r.on('error', onError);
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.opened.map((r) => (r.status === 'ready' ? r.quit() : Promise.resolve(r.disconnect()))));
  }
}
